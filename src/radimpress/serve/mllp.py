"""An MLLP listener: HL7 v2 ORU^R01 findings in, ACK plus a draft ORU^R01 out.

MLLP frames each message as ``<VT> message <FS><CR>``. A hospital interface
engine keeps one connection open for hours and retries whatever it does not
see acknowledged, so the listener must answer every framed message (AA, AE or
AR with the reason) and survive anything on the wire: garbage between frames,
frames cut short by a new start block or a disconnect, frames larger than
any report, and clients that vanish mid-reply.

Drafts go through the server's `DraftService` (the model in its worker
thread behind the micro-batcher), so the event loop keeps accepting and
framing while a draft is generated. Run inside ``radimpress serve
--mllp-port`` the listener shares the HTTP server's service: its drafts are
on the review pages and in /metrics. Logs carry control ids, sizes and ACK
codes only, never message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from radimpress.drafting import (
    DeadlineExceeded,
    DraftError,
    DraftOptions,
    DraftResult,
    ModelNotReady,
)
from radimpress.formats.hl7v2 import Hl7Error, build_ack, build_draft_oru, header_of, parse_oru
from radimpress.privacy.scrub import scrub_text
from radimpress.records import InputError, Report
from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.service import DraftService
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Store

log = logging.getLogger("radimpress.mllp")

VT, FS, CR = 0x0B, 0x1C, 0x0D
DEFAULT_MAX_FRAME = 1 << 20  # 1 MiB: a long report with every OBX is under 50 KiB


def frame(message: str) -> bytes:
    return b"\x0b" + message.encode("utf-8") + b"\x1c\x0d"


@dataclass
class FrameEvent:
    kind: str  # "frame" | "oversize" | "truncated" | "garbage"
    data: bytes = b""
    size: int = 0


class FrameDecoder:
    """Incremental MLLP de-framer; pure, so every edge case is unit-testable.

    ``feed`` returns the events the new bytes completed. A frame is closed by
    FS (a CR after it is optional: some senders drop it). A start block
    inside a frame means the previous frame was cut short ("truncated"); a
    frame growing past ``max_frame`` is reported once ("oversize") and then
    skipped up to its end block.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.buf = bytearray()
        self.in_frame = False
        self.discarding = False
        self.garbage = 0
        self.skipped = 0

    def feed(self, data: bytes) -> list[FrameEvent]:
        # Scans with bytes.find rather than byte by byte: a 1 MiB frame costs
        # microseconds, so a flood of large frames cannot stall the event loop.
        events: list[FrameEvent] = []
        i, n = 0, len(data)
        while i < n:
            if not self.in_frame:
                j = data.find(b"\x0b", i)
                outside = data[i : j if j >= 0 else n]
                self.garbage += len(outside.translate(None, b"\r\n \t\x1c"))
                if j < 0:
                    break
                if self.garbage:
                    events.append(FrameEvent("garbage", size=self.garbage))
                    self.garbage = 0
                self.in_frame, self.discarding, self.buf = True, False, bytearray()
                i = j + 1
                continue
            stops = [k for k in (data.find(b"\x1c", i), data.find(b"\x0b", i)) if k >= 0]
            end = min(stops) if stops else n
            if self.discarding:
                self.skipped += end - i
            else:
                self.buf += data[i:end]
                if len(self.buf) > self.max_frame:
                    events.append(
                        FrameEvent("oversize-start", bytes(self.buf[:2048]), len(self.buf))
                    )
                    self.discarding, self.skipped, self.buf = True, len(self.buf), bytearray()
            if end == n:
                break
            if data[end] == FS:
                if self.discarding:
                    events.append(FrameEvent("oversize", size=self.skipped))
                else:
                    events.append(FrameEvent("frame", bytes(self.buf), len(self.buf)))
                self.in_frame, self.discarding, self.buf = False, False, bytearray()
            else:  # a new start block before the end block: the previous frame was cut short
                if not self.discarding:
                    events.append(FrameEvent("truncated", bytes(self.buf), len(self.buf)))
                self.buf, self.discarding = bytearray(), False
            i = end + 1
        return events

    def close(self) -> list[FrameEvent]:
        """Events left at disconnect: a frame still open is truncated."""
        events = []
        if self.in_frame and not self.discarding:
            events.append(FrameEvent("truncated", bytes(self.buf), len(self.buf)))
        if self.garbage:
            events.append(FrameEvent("garbage", size=self.garbage))
        self.buf, self.in_frame, self.garbage = bytearray(), False, 0
        return events


def decode_text(data: bytes) -> str:
    """UTF-8 when valid; otherwise Latin-1, the usual legacy HL7 character set (MSH-18 8859/1)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class DraftResponder:
    """Turn one inbound message into the frames to send back (ACK, then the draft ORU).

    ``draft(report) -> DraftResult`` is injected so the responder can be tested
    without a model; :meth:`from_service` drafts through the server's
    `DraftService`, so HL7 drafts are batched, checked, stored and counted
    like every other.
    """

    def __init__(
        self, draft: Callable[[Report], Awaitable[DraftResult]], scrub: bool = False
    ) -> None:
        self.draft = draft
        self.scrub = scrub

    @classmethod
    def from_service(cls, service: DraftService, scrub: bool = False) -> DraftResponder:
        async def draft(report: Report) -> DraftResult:
            (stored,) = await service.draft([report], DraftOptions(), channel="hl7")
            return stored.result

        return cls(draft, scrub=scrub)

    async def respond(self, text: str) -> list[str]:
        """Replies for one message; never raises (an internal error is an AE)."""
        head = header_of(text)
        if head.get("message_type", "").split("^")[0] == "ACK":
            log.info("ack received for control_id=%s; no reply", head.get("control_id", ""))
            return []  # an ACK of our draft: acknowledging it would start an endless exchange
        try:
            msg = await asyncio.to_thread(parse_oru, text)  # a 1 MiB frame parses off the loop
        except Exception as e:  # noqa: BLE001 - a parser bug still gets an answer
            if not isinstance(e, Hl7Error):
                log.error(
                    "parser error control_id=%s: %s", head.get("control_id", ""), type(e).__name__
                )
                e = Hl7Error(f"unparseable message ({type(e).__name__})", "AE", "207")
            log.info(
                "reject control_id=%s code=%s reason=%s",
                head.get("control_id", ""),
                e.code,
                e.reason,
            )
            return [
                build_ack(
                    e.code,
                    e.reason,
                    control_id=head.get("control_id", ""),
                    header=head,
                    hl7_error=e.hl7_error,
                )
            ]
        try:
            report = msg.to_report()
            if self.scrub:
                report.findings = scrub_text(report.findings)[0]
            result = await self.draft(report)
            warnings = [w.message for w in result.warnings_for(0)]
            draft = build_draft_oru(
                msg, result.impression, result.model.name, result.model.version, warnings
            )
        except DraftError as e:
            code, hl7_error = _ack_for(e)
            log.info("draft refused control_id=%s code=%s: %s", msg.control_id, code, e)
            return [build_ack(code, str(e), msg, hl7_error=hl7_error)]
        except Exception as e:  # noqa: BLE001 - the listener must answer, not die
            log.error("draft failed control_id=%s: %s", msg.control_id, type(e).__name__)
            return [build_ack("AE", f"draft failed: {type(e).__name__}", msg, hl7_error="207")]
        log.info(
            "draft control_id=%s findings_chars=%d warnings=%d",
            msg.control_id,
            len(msg.findings),
            len(warnings),
        )
        return [build_ack("AA", "", msg), draft]


def _ack_for(error: DraftError) -> tuple[str, str]:
    """HL7 ACK code and ERR-3 error code for a drafting error.

    AR (application reject) when the system cannot take messages now (model
    loading, or too busy to draft within the deadline), so the interface
    engine resends later; AE (application error) when this message
    cannot be drafted as it is.
    """
    if isinstance(error, ModelNotReady | DeadlineExceeded):
        return "AR", "207"
    return "AE", "207"


class MllpListener:
    """asyncio server around a DraftResponder."""

    def __init__(
        self,
        responder: DraftResponder,
        host: str = "127.0.0.1",
        port: int = 2575,
        max_frame: int = DEFAULT_MAX_FRAME,
        idle_timeout: float = 600.0,
    ) -> None:
        self.responder = responder
        self.host, self.port = host, port
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self.server: asyncio.Server | None = None
        self._clients: set[asyncio.Task] = set()
        self.stats = {
            "connections": 0,
            "frames": 0,
            "acks": 0,
            "rejected": 0,
            "truncated": 0,
            "oversize": 0,
            "garbage_bytes": 0,
        }

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, self.host, self.port, limit=1 << 16)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.gather(*self._clients, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()

    async def _reply(self, writer: asyncio.StreamWriter, messages: list[str]) -> None:
        for m in messages:
            writer.write(frame(m))
            if m.split("\r", 2)[1].startswith("MSA|"):
                self.stats["acks"] += 1
                if not m.split("\r", 2)[1].startswith("MSA|AA"):
                    self.stats["rejected"] += 1
        await writer.drain()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._serve_client(reader, writer)
        except asyncio.CancelledError:
            pass  # listener shutting down; the connection is closed below
        finally:
            if task is not None:
                self._clients.discard(task)
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.close()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        self.stats["connections"] += 1
        log.info("connection from %s", peer)
        decoder = FrameDecoder(self.max_frame)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout=self.idle_timeout)
                except TimeoutError:
                    log.info("closing idle connection from %s", peer)
                    break
                if not data:
                    break
                for ev in decoder.feed(data):
                    replies = await self._handle(ev)
                    if replies:
                        await self._reply(writer, replies)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            log.info("connection from %s ended: %s", peer, type(e).__name__)
        except Exception:  # noqa: BLE001 - one connection's bug must not stop the listener
            log.exception("connection handler error for %s", peer)
        finally:
            for ev in decoder.close():
                if ev.kind == "truncated":
                    self.stats["truncated"] += 1
                    log.info(
                        "frame of %d bytes cut short by disconnect from %s; dropped", ev.size, peer
                    )
                elif ev.kind == "garbage":
                    self.stats["garbage_bytes"] += ev.size
            with contextlib.suppress(ConnectionError, OSError):
                writer.close()
                await writer.wait_closed()

    async def _handle(self, ev: FrameEvent) -> list[str]:
        if ev.kind == "garbage":
            self.stats["garbage_bytes"] += ev.size
            log.info("ignored %d bytes outside MLLP frames", ev.size)
            return []
        if ev.kind == "oversize":
            return []
        if ev.kind == "oversize-start":
            self.stats["oversize"] += 1
            reason = f"frame exceeds the {self.max_frame}-byte limit; message skipped"
            return [broken_frame_ack(decode_text(ev.data), reason)]
        text = decode_text(ev.data)
        if ev.kind == "truncated":
            self.stats["truncated"] += 1
            reason = "truncated frame: a new start block (VT) arrived before the end block (FS CR)"
            return [broken_frame_ack(text, reason)]
        self.stats["frames"] += 1
        return await self.responder.respond(text)


def broken_frame_ack(text: str, reason: str) -> str:
    """An AR for a frame that cannot be read whole, answered to whatever MSH header survived.

    The sender can then match the reject to its message by control id and resend.
    """
    head = header_of(text)
    return build_ack(
        "AR", reason, control_id=head.get("control_id", ""), header=head, hl7_error="100"
    )


def run(settings: ServeSettings, host: str, port: int, max_frame: int, scrub: bool) -> int:
    """Blocking entry point for ``radimpress mllp``: the listener alone, drafting like `serve`."""

    async def main() -> None:
        store = Store(settings.db)
        service = DraftService(settings, store, ServeMetrics())
        await service.load()
        if service.drafter is None:
            raise InputError(f"{settings.model_dir}: model failed to load ({service.load_error})")
        listener = MllpListener(
            DraftResponder.from_service(service, scrub=scrub), host, port, max_frame=max_frame
        )
        bound = await listener.start()
        info = service.drafter.info
        print(
            f"radimpress mllp: {info.name} {info.version} listening on {host}:{bound}, "
            f"drafts stored in {settings.db} (Ctrl-C to stop)",
            flush=True,
        )
        # Ctrl-C and a service manager's SIGTERM both stop it cleanly, whatever the
        # disposition the process inherited (a parent that ignores SIGINT passes that on).
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        serving = asyncio.create_task(listener.serve_forever())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if serving.done():
                serving.result()  # the listener failed: raise its error
        finally:
            for task in (serving, stopping):
                task.cancel()
            print(f"radimpress mllp: stopped; {listener.stats}", flush=True)
            await listener.close()
            await service.close()
            store.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
