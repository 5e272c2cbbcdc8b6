"""Work per request is bounded: batch limits, a deadline, fair turns for the model and the
safety checks, and no work for a client that has gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import httpx
import psutil
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from radimpress.drafting import DeadlineExceeded, DraftOptions, DraftWarning
from radimpress.records import Report
from radimpress.serve.app import create_app
from radimpress.serve.batching import MicroBatcher
from radimpress.serve.cli import register
from radimpress.serve.mllp import DraftResponder
from radimpress.serve.safety_lanes import SafetyLanes
from radimpress.serve.settings import ServeSettings
from support import ALICE, CountingModel, free_port, retrieval_model

AUTH = {"Authorization": f"Bearer {ALICE}"}


def settings(tmp_path, model=None, **overrides) -> ServeSettings:
    return ServeSettings(
        db_path=str(tmp_path / "serve.db"),
        tokens={"alice": ALICE},
        model=model if model is not None else retrieval_model(),
        safety_checks=False,
        **overrides,
    )


def reports(n: int, prefix: str = "r", chars: int = 0) -> list[Report]:
    text = "Large left pleural effusion." + " Lungs clear." * (chars // 13)
    return [Report(f"{prefix}{i}", text) for i in range(n)]


# -- limits -----------------------------------------------------------------


def test_a_batch_over_max_batch_chars_is_413_naming_the_limit(tmp_path):
    with TestClient(create_app(settings(tmp_path, max_batch_chars=500))) as c:
        items = [{"findings": "Left pleural effusion. " * 5}] * 4  # 4 x 115 characters
        ok = c.post("/v1/impressions/batch", headers=AUTH, json={"reports": items})
        assert ok.status_code == 200, ok.text
        items.append({"findings": "Heart normal.", "indication": "x" * 100})
        r = c.post("/v1/impressions/batch", headers=AUTH, json={"reports": items})
        assert r.status_code == 413
        assert "573 characters" in r.json()["detail"] and "max_batch_chars" in r.json()["detail"]
        assert c.app.state.store.count_drafts() == 4


def test_serve_help_documents_every_limit():
    import argparse

    commands = argparse.ArgumentParser().add_subparsers(dest="command")
    register(commands)
    text = " ".join(commands.choices["serve"].format_help().split())
    for flag, default in [
        ("--max-findings-chars", "20000"),
        ("--max-batch-items", "64"),
        ("--max-batch-chars", "50000"),
        ("--max-body-bytes", str(4 << 20)),
        ("--request-timeout", "30.0"),
        ("--safety-bulk-chars", "4000"),
    ]:
        assert f"(default: {default})" in text.rsplit(flag, 1)[-1][:400], flag  # its entry


# -- the deadline -------------------------------------------------------------


def test_the_deadline_answers_503_and_drops_the_queued_work(tmp_path, caplog):
    model = CountingModel(retrieval_model(), delay=0.4)
    caplog.set_level(logging.INFO, logger="radimpress")
    s = settings(tmp_path, model=model, request_timeout_s=0.2, max_batch_size=1)
    with TestClient(create_app(s)) as c:
        body = {"reports": [{"findings": f"Effusion {i}."} for i in range(4)]}
        r = c.post("/v1/impressions/batch", headers=AUTH, json=body)
        assert r.status_code == 503
        assert "0.2 s request deadline" in r.json()["error"] and r.json()["error_id"]
        time.sleep(0.6)  # the call that was running ends; nothing else may start
        assert model.calls == [1]
        assert c.app.state.store.count_drafts() == 0
        assert 'radimpress_deadline_exceeded_total{channel="rest"} 1.0' in c.get("/metrics").text
    assert "deadline of 0.2s passed" in caplog.text and "Effusion" not in caplog.text


def test_mllp_answers_a_missed_deadline_with_resend_later():
    async def slow(report):
        raise DeadlineExceeded(30)

    message = "\r".join(
        [
            "MSH|^~\\&|RIS|H|RADIMPRESS|H|20240101120000||ORU^R01|D1|P|2.5",
            "OBR|1|ORD1|ACC1|71020^CHEST 2 VIEWS^CPT",
            "OBX|1|TX|&GDT^Findings|1|Heart size normal.||||||F",
        ]
    )
    (ack,) = asyncio.run(DraftResponder(slow).respond(message))
    msa = next(seg for seg in ack.split("\r") if seg.startswith("MSA|")).split("|")
    assert msa[1:3] == ["AR", "D1"] and "deadline" in msa[3]  # AR: resend later


# -- the model takes turns ------------------------------------------------------


def _model_step(model):
    return lambda rs, options: model.generate(rs, options.num_candidates, **options.decoding())


def test_a_big_job_is_sliced_and_a_small_one_rides_in_the_next_call():
    model = CountingModel(retrieval_model(), delay=0.05)
    done: dict[str, float] = {}

    async def go():
        b = MicroBatcher(_model_step(model), max_batch_size=16, max_wait_ms=1)
        await b.start()

        async def job(name, rs):
            result = await b.generate(rs, DraftOptions())
            done[name] = time.perf_counter()
            return result

        big = asyncio.create_task(job("big", reports(64, "big")))
        await asyncio.sleep(0.02)  # the first call of 16 is running
        small = await job("small", reports(1, "small"))
        result = await big
        await b.stop()
        return result, small

    big, small = asyncio.run(go())
    assert model.calls == [16, 16, 16, 16, 1]  # 15 of the big job's + the small one, then the rest
    assert len(big) == 64 and small == [["Large left pleural effusion."]]
    assert done["small"] < done["big"]


def test_jobs_asking_for_different_numbers_of_candidates_never_share_a_call():
    """A greedy model asked for 3 candidates runs a beam search of 3; a job that asked for one
    (the greedy draft) must not be drafted in that call."""
    calls = []

    def step(rs, options):
        calls.append(([r.id for r in rs], options.num_candidates))
        return [[f"{r.id}-{i}" for i in range(options.num_candidates)] for r in rs]

    async def go():
        b = MicroBatcher(step, max_batch_size=16, max_wait_ms=50)
        await b.start()
        one, pool = await asyncio.gather(
            b.generate(reports(2, "one"), DraftOptions()),
            b.generate(reports(1, "pool"), DraftOptions(num_candidates=3)),
        )
        await b.stop()
        return one, pool

    one, pool = asyncio.run(go())
    assert sorted(calls) == [(["one0", "one1"], 1), (["pool0"], 3)]
    assert one == [["one0-0"], ["one1-0"]] and pool == [["pool0-0", "pool0-1", "pool0-2"]]


def test_a_cancelled_job_is_not_drafted_further():
    model = CountingModel(retrieval_model(), delay=0.1)

    async def go():
        b = MicroBatcher(_model_step(model), max_batch_size=8, max_wait_ms=1)
        await b.start()
        task = asyncio.create_task(b.generate(reports(40), DraftOptions()))
        await asyncio.sleep(0.05)
        task.cancel()  # what a disconnect or the deadline does
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)
        await b.generate(reports(1), DraftOptions())
        await b.stop()

    asyncio.run(go())
    assert model.calls == [8, 1]


# -- the safety checks take turns ---------------------------------------------------


def _slow_check(log: list[str], seconds_per_char: float):
    def check(items):
        for findings, _ in items:
            log.append(findings.split()[0])
            time.sleep(len(findings) * seconds_per_char)
        return [[[] for _ in cands] for _, cands, *_ in items]

    return check


def test_a_big_request_checks_in_the_bulk_lane_without_holding_up_small_ones():
    calls: list[str] = []

    async def go():
        lanes = SafetyLanes(processes=False, bulk_chars=1000, check=_slow_check(calls, 0.3 / 2000))
        await lanes.start(warm=None)
        big = asyncio.create_task(lanes.check([("big " + "x" * 2000, ["c"])] * 6))  # ~1.8 s
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        small = await lanes.check([("small finding", ["c"])])
        small_s = time.perf_counter() - t0
        assert not big.done()
        await big
        await lanes.close()
        return small, small_s

    small, small_s = asyncio.run(go())
    assert small == [[[]]]
    assert small_s < 0.25  # not behind the big request's 1.8 s of checks


def test_requests_in_one_lane_take_turns_chunk_by_chunk_and_cancelled_ones_stop():
    calls: list[str] = []

    async def go():
        lanes = SafetyLanes(
            processes=False, bulk_chars=0, chunk_chars=10, check=_slow_check(calls, 0.001)
        )
        await lanes.start(warm=None)
        a = asyncio.create_task(lanes.check([(f"a{i} " + "x" * 20, ["c"]) for i in range(4)]))
        await asyncio.sleep(0)
        b = asyncio.create_task(lanes.check([(f"b{i} " + "x" * 20, ["c"]) for i in range(2)]))
        c = asyncio.create_task(lanes.check([(f"c{i} " + "x" * 20, ["c"]) for i in range(9)]))
        await asyncio.sleep(0)
        c.cancel()
        await asyncio.gather(a, b)
        await lanes.close()

    asyncio.run(go())
    assert calls == ["a0", "b0", "a1", "b1", "a2", "a3"]  # c was cancelled before its turn


def test_a_failing_chunk_flags_its_request_and_not_the_others():
    def check(items):
        if any("BROKEN" in f for f, _ in items):
            return None  # what check_items returns when the checker raised
        return [[[DraftWarning(type="t", severity="low", message="m", candidate=0)]] for _ in items]

    async def go():
        lanes = SafetyLanes(processes=False, bulk_chars=0, check=check)
        await lanes.start(warm=None)
        out = await asyncio.gather(
            lanes.check([("fine", ["c"]), ("BROKEN", ["c"])]), lanes.check([("fine", ["c"])])
        )
        await lanes.close()
        return out

    broken, fine = asyncio.run(go())
    assert broken is None and fine[0][0][0].type == "t"


# -- a client that has gone ---------------------------------------------------------


@contextlib.asynccontextmanager
async def running(app, port):
    """The app under uvicorn on 127.0.0.1 in this event loop (a real socket, real disconnects)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


def test_a_client_that_disconnects_has_its_queued_reports_dropped(tmp_path, caplog):
    model = CountingModel(retrieval_model(), delay=0.3)
    app = create_app(settings(tmp_path, model=model, max_batch_size=2, max_wait_ms=1))
    port = free_port()
    caplog.set_level(logging.INFO, logger="radimpress")
    body = b'{"reports": [%s]}' % b", ".join([b'{"findings": "Left effusion."}'] * 8)

    async def go():
        async with running(app, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /v1/impressions/batch HTTP/1.1\r\nHost: x\r\nX-Request-ID: gone-1\r\n"
                b"Authorization: Bearer " + ALICE.encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            await writer.drain()
            await asyncio.sleep(0.15)  # the first call of 2 reports is running
            writer.close()  # the client gives up
            await asyncio.sleep(0.8)
            return app.state.metrics

    metrics = asyncio.run(go())
    assert model.calls == [2]  # the other 6 reports were never drafted
    text = generate_latest(metrics.registry).decode()
    assert "radimpress_client_disconnects_total 1.0" in text
    assert 'route="/v1/impressions/batch",status="499"} 1.0' in text
    assert "request_id=gone-1" in caplog.text and "status=499" in caplog.text


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_over_the_cap_is_refused_while_it_arrives(tmp_path, chunked):
    app = create_app(settings(tmp_path, max_body_bytes=1 << 20))
    port = free_port()
    chunk = b"x" * (1 << 16)
    total = 64 << 20

    def chunks():
        for _ in range(total // len(chunk)):
            yield chunk

    async def go():
        async with running(app, port):
            rss = psutil.Process().memory_info().rss
            async with httpx.AsyncClient(timeout=60) as client:
                headers = {**AUTH, "content-type": "application/json"}
                if not chunked:
                    headers["content-length"] = str(total)

                async def body():
                    for c in chunks():
                        yield c

                r = await client.post(
                    f"http://127.0.0.1:{port}/v1/impressions", headers=headers, content=body()
                )
            return r, psutil.Process().memory_info().rss - rss

    r, growth = asyncio.run(go())
    assert r.status_code == 413 and "max_body_bytes" in r.json()["detail"]
    assert growth < 30 << 20  # 64 MiB went by; at most the 1 MiB cap was kept


def test_both_checker_lanes_load_the_checker_at_start():
    """The bulk lane warms in the background, so the first big request is not the one that
    waits for the checker to load (seconds: it would eat into its deadline)."""
    warmed: list[str] = []

    async def go():
        lanes = SafetyLanes(processes=False, bulk_chars=100, check=lambda items: [])
        await lanes.start(warm=lambda: warmed.append(threading.current_thread().name))
        for _ in range(100):
            if len(warmed) == 2:
                break
            await asyncio.sleep(0.01)
        await lanes.close()

    asyncio.run(go())
    assert sorted(name.rsplit("_", 1)[0] for name in warmed) == [
        "radimpress-safety-bulk",
        "radimpress-safety-normal",
    ]
