"""Robustness of `radimpress serve` on 127.0.0.1: a heavy client, a huge body, kill -9.

    .venv/bin/python bench/robustness.py [--clients 8] [--seconds 20] [--body-mb 200]

Starts the real server (uvicorn subprocess, bearer auth, SQLite store, safety
checks in their worker processes: the deployed defaults and limits) with a
retrieval model fitted on the package's built-in sample reports, so it runs
anywhere, then measures, each step bounded in time:

1. N closed-loop clients sending normal single-report requests (the sample
   findings) for T seconds: p50/p95 latency and errors (the baseline);
2. the same N clients while one more client sends maximum-size batches
   (max_batch_items reports holding max_batch_chars characters in all) for
   T seconds: the normal clients' p50/p95 and errors, and what the heavy
   client got (drafted, or 503 at the request deadline);
3. a chunked request body of --body-mb MB: the status, and the server's
   resident memory growth while it arrived (peak, sampled every 20 ms);
4. kill -9 of the server: whether its safety checker processes are gone, and
   how fast.

Replaces the `## Robustness (server)` section of BENCHMARKS.md. Exit status 1
when a target is missed: normal p95 with the heavy client within 2x the
baseline and 0 errors; 413 with growth under 50 MB; no checker left.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, provenance, replace_section  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from radimpress.ingest import load_inputs, sample_paths  # noqa: E402
from radimpress.models.baselines import RetrievalModel  # noqa: E402
from radimpress.records import Report  # noqa: E402
from radimpress.serve.settings import ServeSettings  # noqa: E402
from serve import pct, start_server  # noqa: E402  (bench/serve.py)

LIMITS = ServeSettings()  # the server runs with its defaults; the heavy batch uses them


def sample_reports() -> list[Report]:
    seen: dict[str, Report] = {}
    for path in sample_paths():
        for r in load_inputs(path)[0]:
            if r.findings.strip():
                seen.setdefault(r.findings, r)
    return list(seen.values())


def heavy_batch(texts: list[str]) -> dict:
    """max_batch_items reports whose characters add up to max_batch_chars (the largest legal batch)."""
    n = LIMITS.max_batch_items
    per = min(LIMITS.max_findings_chars, LIMITS.max_batch_chars // n)
    reports = []
    for i in range(n):
        text, k = "", i
        while len(text) < per:
            text += texts[k % len(texts)].strip() + " "
            k += 1
        reports.append({"findings": text[: per - 1].rstrip() + ".", "report_id": f"heavy-{i}"})
    assert sum(len(r["findings"]) for r in reports) <= LIMITS.max_batch_chars
    return {"reports": reports}


async def load(
    port: int, token: str, texts: list[str], clients: int, seconds: float, heavy: dict | None
) -> dict:
    """Closed-loop clients for `seconds`; with `heavy`, one more client sending that batch."""
    base = f"http://127.0.0.1:{port}"
    stop_at = time.perf_counter() + seconds
    normal: list[float] = []
    errors: dict[str, int] = {}
    big: dict[str, list[float]] = {}

    async def client(n: int) -> None:
        i = n
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as c:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = await c.post(
                        f"{base}/v1/impressions", json={"findings": texts[i % len(texts)]}
                    )
                    key = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    key = type(e).__name__
                i += clients
                if key:
                    errors[key] = errors.get(key, 0) + 1
                else:
                    normal.append(time.perf_counter() - t0)

    async def heavy_client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(headers=headers, timeout=120) as c:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = await c.post(f"{base}/v1/impressions/batch", json=heavy)
                    key = str(r.status_code)
                except httpx.HTTPError as e:
                    key = type(e).__name__
                big.setdefault(key, []).append(time.perf_counter() - t0)

    async def normal_clients() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        return time.perf_counter() - t0

    if heavy:
        wall, _ = await asyncio.gather(normal_clients(), heavy_client())
    else:
        wall = await normal_clients()
    lat = [x * 1000 for x in normal]
    return {
        "requests": len(lat),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "throughput": len(lat) / wall if lat else 0.0,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "heavy": {k: (len(v), statistics.fmean(v)) for k, v in big.items()},
        "wall": wall,
    }


def one_batch(port: int, token: str, batch: dict) -> tuple[int | str, float]:
    t0 = time.perf_counter()
    try:
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/impressions/batch",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        status: int | str = r.status_code
    except httpx.HTTPError as e:
        status = type(e).__name__
    return status, time.perf_counter() - t0


def huge_body(port: int, token: str, server_pid: int, megabytes: int) -> dict:
    """A chunked body of `megabytes` MB; the server's RSS is sampled while it arrives."""
    server = psutil.Process(server_pid)
    before = server.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.memory_info().rss)
            time.sleep(0.02)

    chunk = b"[" + b"0," * ((1 << 16) // 2 - 1) + b"0"  # 64 KiB of a JSON array, never closed
    total = megabytes * 1_000_000

    def chunks():
        sent = 0
        while sent < total:
            yield chunk
            sent += len(chunk)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/impressions",
            content=chunks(),  # a generator: sent with Transfer-Encoding: chunked
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
            timeout=120,
        )
        status, detail = r.status_code, r.text[:200]
    except httpx.HTTPError as e:
        status, detail = None, type(e).__name__
    seconds = time.perf_counter() - t0
    time.sleep(0.3)
    done.set()
    sampler.join()
    after = server.memory_info().rss
    return {
        "status": status,
        "detail": detail,
        "seconds": seconds,
        "before_mb": before / 1e6,
        "peak_growth_mb": (peak - before) / 1e6,
        "kept_mb": (after - before) / 1e6,
    }


def kill_9(proc: subprocess.Popen) -> dict:
    children = psutil.Process(proc.pid).children(recursive=True)
    checkers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=10)
    seconds = time.perf_counter() - t0
    for p in alive:  # the bench never leaves one behind, whatever it measured
        p.kill()
    return {
        "children": len(children),
        "checkers": len(checkers),
        "left": len(alive),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0, help="per load phase")
    p.add_argument("--body-mb", type=int, default=200)
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)

    load_before = os.getloadavg()[0]
    reports = sample_reports()
    texts = [r.findings for r in reports]
    heavy = heavy_batch(texts)
    heavy_chars = sum(len(r["findings"]) for r in heavy["reports"])
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="radimpress-bench-robust-") as tmp_name:
        tmp = Path(tmp_name)
        model = RetrievalModel()
        fitted = model.fit([r for r in reports if r.impression])
        model.name, model.version = "retrieval", "bench"
        model.save(tmp / "model")
        proc, port = start_server(tmp / "model", tmp / "serve.db", token, log=tmp / "server.log")
        try:
            print(
                f"server ready on 127.0.0.1:{port}; retrieval model fitted on "
                f"{fitted['train_pairs']} sample reports; {args.clients} clients x "
                f"{args.seconds:g} s per phase"
            )
            asyncio.run(load(port, token, texts, 2, 2.0, None))  # warm-up, not counted
            # One maximum-size batch on the idle server, after one that starts the bulk checker.
            first = one_batch(port, token, heavy)
            alone = one_batch(port, token, heavy)
            print(f"heavy batch alone: first {first}, then {alone}")
            base = asyncio.run(load(port, token, texts, args.clients, args.seconds, None))
            print(f"baseline: {base}")
            loaded = asyncio.run(load(port, token, texts, args.clients, args.seconds, heavy))
            print(f"with the heavy client: {loaded}")
            body = huge_body(port, token, proc.pid, args.body_mb)
            print(f"huge body: {body}")
            killed = kill_9(proc)
            print(f"kill -9: {killed}")
        finally:
            if proc.poll() is None:
                proc.kill()

    ratio = loaded["p95"] / base["p95"] if base["p95"] else float("nan")
    ok_load = ratio <= 2.0 and loaded["errors"] == 0 and base["errors"] == 0
    ok_body = body["status"] == 413 and body["peak_growth_mb"] < 50
    ok_kill = killed["checkers"] >= 1 and killed["left"] == 0
    alone_row = (
        f"HTTP {alone[0]} in {alone[1]:.1f} s (the first: HTTP {first[0]} in {first[1]:.1f} s)"
    )
    heavy_rows = ", ".join(
        f"{n} answered {k} (mean {s:.1f} s)" for k, (n, s) in sorted(loaded["heavy"].items())
    )
    section = f"""The machine is shared with other work (1-minute load average {load_before:.1f} when this
run started); the load generator runs on the same CPUs.
Setup: `radimpress serve` with its default settings and limits (uvicorn, 1 worker, bearer auth,
SQLite store, safety checks in their worker processes, request deadline
{LIMITS.request_timeout_s:g} s), serving a retrieval model fitted on the package's built-in sample
reports (so it runs anywhere); normal requests are the sample findings (60-140 characters),
one report per request, {args.clients} closed-loop clients on 127.0.0.1, {args.seconds:g} s per phase.
The heavy client sends maximum-size batches in a closed loop: {LIMITS.max_batch_items} reports,
{heavy_chars:,} characters in all (max_batch_chars {LIMITS.max_batch_chars:,}); one such batch
on the idle server: {alone_row}.

| phase | normal requests | errors | req/s | p50 ms | p95 ms | p99 ms |
|---|---:|---:|---:|---:|---:|---:|
| {args.clients} clients | {base["requests"]} | {base["errors"]} | {base["throughput"]:.1f} | {base["p50"]:.0f} | {base["p95"]:.0f} | {base["p99"]:.0f} |
| {args.clients} clients + heavy batches | {loaded["requests"]} | {loaded["errors"]} | {loaded["throughput"]:.1f} | {loaded["p50"]:.0f} | {loaded["p95"]:.0f} | {loaded["p99"]:.0f} |

- Normal p95 with the heavy client / without: **{ratio:.2f}x** (target at most 2x, 0 errors:
  {"met" if ok_load else "MISSED"}). The heavy client's batches: {heavy_rows or "none finished"}.
- Chunked body of {args.body_mb} MB to /v1/impressions: HTTP {body["status"]} after
  {body["seconds"]:.1f} s (the server answers once max_body_bytes, {LIMITS.max_body_bytes:,}
  bytes, have arrived, and closes the connection); server RSS {body["before_mb"]:.0f} MB before,
  peak growth **{body["peak_growth_mb"]:.1f} MB**, {body["kept_mb"]:.1f} MB kept (target 413 and
  growth under 50 MB: {"met" if ok_body else "MISSED"}).
- kill -9 of the server: {killed["checkers"]} safety checker process(es) and
  {killed["children"] - killed["checkers"]} other child process(es) (multiprocessing's resource
  tracker) running before; {killed["left"]} left {killed["seconds"]:.1f} s later (target none:
  {"met" if ok_kill else "MISSED"}).

How: the micro-batcher drafts at most max_batch_size reports per model call and shares each
call's places one report per waiting request in turn; the safety checks of requests with more
than safety_bulk_chars characters run in a second checker process at a lower CPU priority, and
every request's checks are done a chunk at a time in turn; a request past its deadline (or
whose client left) has its queued work dropped. Bodies are counted as they arrive and refused
past max_body_bytes. The checker processes get a parent-death signal and watch their parent.
"""
    print(f"## Robustness (server)\n\n{provenance()}\n{section}")
    if not args.no_write:
        replace_section("Robustness (server)", section, path=Path(args.out))
        print(f"wrote ## Robustness (server) to {args.out}")
    return 0 if ok_load and ok_body and ok_kill else 1


if __name__ == "__main__":
    raise SystemExit(main())
