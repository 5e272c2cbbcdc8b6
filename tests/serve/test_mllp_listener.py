"""The MLLP listener over a real socket on 127.0.0.1: good, malformed, truncated and oversized frames."""

from __future__ import annotations

import asyncio
import socket
import tempfile

import hl7
import pytest
from hl7apy.parser import parse_message

from radimpress.drafting import DraftResult, ModelInfo, ModelNotReady
from radimpress.formats.hl7v2 import unescape
from radimpress.models.base import load_model
from radimpress.models.baselines import RetrievalModel
from radimpress.records import InputError, Report
from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.mllp import DraftResponder, FrameDecoder, MllpListener, frame
from radimpress.serve.mllp import run as mllp_run
from radimpress.serve.service import DraftService
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Store

PAIRS = [
    ("Heart size normal. Lungs clear. No effusion.", "No acute cardiopulmonary disease."),
    ("Large right pleural effusion with compressive atelectasis.", "Large right pleural effusion."),
    ("Left lower lobe consolidation, air bronchograms.", "Left lower lobe pneumonia."),
    ("Right apical pneumothorax measuring 2 cm.", "Small right pneumothorax."),
]


def oru(control_id: str, findings: str, accession: str = "ACC1") -> str:
    return "\r".join(
        [
            f"MSH|^~\\&|RIS|GENHOSP|RADIMPRESS|GENHOSP|20240101120000||ORU^R01|{control_id}|P|2.5",
            "PID|1||PAT9^^^GENHOSP^MR||TESTPATIENT^BETA",
            f"OBR|1|ORD{control_id}|{accession}|71020^CHEST 2 VIEWS^CPT",
            f"OBX|1|TX|&GDT^Findings|1|{findings}||||||F",
        ]
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    m = RetrievalModel()
    m.fit([Report(id=f"r{i}", findings=f, impression=imp) for i, (f, imp) in enumerate(PAIRS)])
    return m.save(tmp_path_factory.mktemp("model"))


async def _read_frames(reader: asyncio.StreamReader, n: int, timeout: float = 10.0) -> list[str]:
    out = []
    for _ in range(n):
        data = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), timeout)
        start = data.index(b"\x0b")
        out.append(data[start + 1 : -2].decode("utf-8"))
    return out


def _session(model_dir, script, max_frame: int = 1 << 20):
    """Run a listener on an ephemeral port and ``script(host, port, listener)`` against it."""

    async def main():
        with tempfile.TemporaryDirectory() as tmp:
            settings = ServeSettings(
                model=load_model(model_dir), db_path=f"{tmp}/db", safety_checks=False
            )
            store = Store(settings.db)
            service = DraftService(settings, store, ServeMetrics())
            await service.load()
            listener = MllpListener(
                DraftResponder.from_service(service), "127.0.0.1", 0, max_frame=max_frame
            )
            port = await listener.start()
            try:
                return await script("127.0.0.1", port, listener)
            finally:
                await listener.close()
                await service.close()
                store.close()

    return asyncio.run(main())


def _result(text: str) -> DraftResult:
    return DraftResult(findings="f", candidates=[text], model=ModelInfo(name="m", version="1"))


def _msa(message: str) -> tuple[str, str, str]:
    msa = hl7.parse(message).segment("MSA")
    return str(msa[1]), str(msa[2]), unescape(str(msa[3])) if len(msa) > 3 else ""


def test_good_message_gets_aa_ack_and_a_preliminary_draft_oru(model_dir):
    async def script(host, port, listener):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(frame(oru("C1", "Large right pleural effusion and atelectasis.")))
        await writer.drain()
        replies = await _read_frames(reader, 2)
        writer.close()
        return replies

    ack, draft = _session(model_dir, script)
    assert _msa(ack)[:2] == ("AA", "C1")
    parsed = parse_message(draft, find_groups=True)
    assert parsed.name == "ORU_R01"
    h = hl7.parse(draft)
    obx = h.segment("OBX")
    assert str(obx[3]).startswith("&IMP") and str(obx[11]) == "P"
    assert str(obx[5]) == "Large right pleural effusion."
    assert str(h.segment("OBR")[3]) == "ACC1"
    assert str(h.segment("PID")[3]).startswith("PAT9")


def test_malformed_then_good_on_one_connection(model_dir):
    """Bad messages are answered with the reason and the connection keeps working."""

    async def script(host, port, listener):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"random bytes before any frame\r\n")
        writer.write(frame("this is not HL7 at all"))
        writer.write(frame(oru("C2", "x").replace("ORU^R01", "ADT^A01")))
        writer.write(frame(oru("C3", "")))
        writer.write(frame(oru("C4", "Heart size normal. Lungs clear.")))
        await writer.drain()
        replies = await _read_frames(reader, 5)
        writer.close()
        return replies, dict(listener.stats)

    replies, stats = _session(model_dir, script)
    (a1, a2, a3, a4, oru4) = replies
    assert _msa(a1)[0] == "AR" and "MSH" in _msa(a1)[2]
    assert _msa(a2)[:2] == ("AR", "C2") and "ADT^A01" in _msa(a2)[2]
    assert _msa(a3)[:2] == ("AE", "C3") and "findings" in _msa(a3)[2]
    assert _msa(a4)[:2] == ("AA", "C4")
    assert str(hl7.parse(oru4).segment("OBX")[5]) == "No acute cardiopulmonary disease."
    assert stats["garbage_bytes"] > 0 and stats["rejected"] == 3


def test_truncated_and_oversized_frames_get_ar_and_the_listener_survives(model_dir):
    async def script(host, port, listener):
        reader, writer = await asyncio.open_connection(host, port)
        # a frame cut short by a new start block
        writer.write(b"\x0b" + oru("T1", "Cut short").encode()[:100])
        writer.write(frame(oru("T2", "Right apical pneumothorax.")))
        # an oversized frame (limit 4 KiB here), then a good one
        writer.write(frame(oru("BIG", "x" * 10_000)))
        writer.write(frame(oru("T3", "Heart size normal.")))
        await writer.drain()
        replies = await _read_frames(reader, 6)
        # a client that disconnects mid-frame must not hurt the next client
        w2 = (await asyncio.open_connection(host, port))[1]
        w2.write(b"\x0b" + oru("T4", "never finished").encode())
        await w2.drain()
        w2.close()
        await asyncio.sleep(0.2)
        r3, w3 = await asyncio.open_connection(host, port)
        w3.write(frame(oru("T5", "Left lower lobe consolidation.")))
        await w3.drain()
        replies += await _read_frames(r3, 2)
        writer.close()
        w3.close()
        return replies, dict(listener.stats)

    replies, stats = _session(model_dir, script, max_frame=4096)
    codes = [_msa(r)[:2] for r in replies if "\rMSA|" in r]
    assert codes == [("AR", "T1"), ("AA", "T2"), ("AR", "BIG"), ("AA", "T3"), ("AA", "T5")]
    reasons = [_msa(r)[2] for r in replies if "\rMSA|A" in r and "|AR|" in r]
    assert "truncated" in reasons[0] and "4096" in reasons[1]
    assert stats["truncated"] == 2 and stats["oversize"] == 1


def test_ack_messages_are_not_answered(model_dir):
    async def script(host, port, listener):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(frame("MSH|^~\\&|RIS|H|RADIMPRESS|H|20240101||ACK^R01|A1|P|2.5\rMSA|AA|RI123"))
        writer.write(frame(oru("C9", "Heart size normal.")))
        await writer.drain()
        replies = await _read_frames(reader, 2)
        writer.close()
        return replies

    ack, _ = _session(model_dir, script)
    assert _msa(ack)[:2] == ("AA", "C9")  # the first reply answers C9, not the ACK


def test_model_failure_is_an_ae_and_a_model_not_ready_an_ar():
    async def broken(report):
        raise RuntimeError("boom")

    async def loading(report):
        raise ModelNotReady()

    (ack,) = asyncio.run(DraftResponder(broken).respond(oru("E1", "Heart size normal.")))
    assert _msa(ack)[:2] == ("AE", "E1") and "RuntimeError" in _msa(ack)[2]
    (ack,) = asyncio.run(DraftResponder(loading).respond(oru("E2", "Heart size normal.")))
    assert _msa(ack)[:2] == ("AR", "E2") and "not loaded" in _msa(ack)[2]  # resend later


def test_frame_decoder_events():
    d = FrameDecoder(max_frame=10)
    ev = d.feed(b"zz\x0babc\x1c\r\x0b0123456789ABC\x1c\r\x0bxy")
    assert [(e.kind, e.data) for e in ev if e.kind in ("frame", "garbage")] == [
        ("garbage", b""),
        ("frame", b"abc"),
    ]
    assert [e.kind for e in ev] == ["garbage", "frame", "oversize-start", "oversize"]
    assert d.feed(b"z\x1c")[0].data == b"xyz"  # a frame split across reads, FS without CR
    d.feed(b"\x0bpartial")
    assert [(e.kind, e.data) for e in d.close()] == [("truncated", b"partial")]


def test_random_input_never_raises():
    """Fuzz the de-framer and responder with seeded random bytes and mangled messages."""
    import random

    rng = random.Random(7)

    async def draft(report):
        return _result("Draft.")

    responder = DraftResponder(draft)
    good = oru("F1", "Heart size normal.")
    asyncio.run(_fuzz(rng, responder, good))


async def _fuzz(rng, responder, good):
    for _ in range(300):
        d = FrameDecoder(max_frame=256)
        blob = bytes(
            rng.choice([0x0B, 0x1C, 0x0D, 0x7C, 0x5E, 0x5C])
            if rng.random() < 0.2
            else rng.randrange(256)
            for _ in range(rng.randrange(1, 600))
        )
        for ev in d.feed(blob) + d.close():
            if ev.kind in ("frame", "truncated"):
                for reply in await responder.respond(ev.data.decode("latin-1")):
                    assert "\rMSA|A" in reply or reply.startswith("MSH")
        cut = rng.randrange(len(good))
        mangled = (
            good[:cut]
            + rng.choice(["", "|", "\\", "^~", "\x00", "\\X0\\", "\rZZZ|1"])
            + good[cut + 1 :]
        )
        replies = await responder.respond(mangled)
        assert replies and "\rMSA|" in replies[0]


def test_serve_with_an_mllp_port_stores_batches_and_counts_hl7_drafts(model_dir, tmp_path):
    """One service behind both doors: an HL7 draft is on the review list and in /metrics."""
    from fastapi.testclient import TestClient

    from radimpress.serve.app import create_app
    from support import ALICE, free_port

    port = free_port()
    settings = ServeSettings(
        model=load_model(model_dir),
        db_path=str(tmp_path / "db"),
        tokens={"alice": ALICE},
        safety_checks=False,
        mllp_port=port,
    )
    with (
        TestClient(create_app(settings)) as client,
        socket.create_connection(("127.0.0.1", port), timeout=10) as s,
    ):
        s.sendall(frame(oru("M1", "Large right pleural effusion and atelectasis.")))
        data = b""
        while data.count(b"\x1c\r") < 2:
            data += s.recv(65536)
        assert b"MSA|AA|M1" in data
        drafts = client.app.state.store.list_drafts()
        assert [d.channel for d in drafts] == ["hl7"]
        assert drafts[0].candidates == ["Large right pleural effusion."]
        metrics = client.get("/metrics").text
        assert 'radimpress_drafts_total{channel="hl7"} 1.0' in metrics
        assert "radimpress_batch_size_count 1.0" in metrics


# -- `radimpress mllp`'s entry point: its error paths ----------------------------------


def test_mllp_run_raises_a_listener_failure_after_closing_everything(
    model_dir, tmp_path, monkeypatch, capsys
):
    async def dies(self):
        raise OSError("listener socket died")

    closed = []
    real_close = Store.close
    monkeypatch.setattr(MllpListener, "serve_forever", dies)
    monkeypatch.setattr(Store, "close", lambda self: (closed.append(True), real_close(self)))
    settings = ServeSettings(
        model_dir=str(model_dir), db_path=str(tmp_path / "d.db"), safety_checks=False
    )
    with pytest.raises(OSError, match="listener socket died"):
        mllp_run(settings, "127.0.0.1", 0, 1 << 20, scrub=False)
    assert "radimpress mllp: stopped" in capsys.readouterr().out and closed


def test_mllp_run_with_an_unloadable_model_says_why(tmp_path):
    settings = ServeSettings(model_dir=str(tmp_path / "missing"), db_path=str(tmp_path / "d.db"))
    with pytest.raises(InputError, match="model failed to load"):
        mllp_run(settings, "127.0.0.1", 0, 1 << 20, scrub=False)
