"""What every HTTP request goes through: a request id, a capped body, a client that may leave,
and an answer that is always logged and counted, 500s included.

A pure ASGI middleware rather than ``@app.middleware("http")``: it sees the
body as it arrives (so a chunked upload is refused at the cap, not after it
was read into memory), it can cancel the handler the moment the client hangs
up (so a request nobody waits for is not drafted), and it sits outside the
handlers, so an exception no handler caught is still answered, logged with
its request id and counted in /metrics.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.service import error_id

log = logging.getLogger("radimpress.serve")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CLIENT_GONE = 499  # logged and counted only: nobody is left to answer


class _BodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class _ClientGone(Exception):
    pass


class RequestGuard:
    """Request id, body cap, body deadline, disconnect cancellation, catch-all 500, log and count."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Callable[[], ServeMetrics],
        route_of: Callable[[Scope], str],
        max_body_bytes: int,
        body_timeout_s: float,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        seen: dict[str, Any] = {"status": None, "complete": False, "bytes_in": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())],
                }
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                seen["complete"] = True
            await send(message)

        try:
            body = await self._read_body(scope, receive, headers, seen)
        except _BodyTooLarge as e:
            await _answer(
                scope,
                send_with_id,
                413,
                {
                    "detail": f"request body of {e.size}{'+' if e.size > self.max_body_bytes else ''}"
                    f" bytes is over the limit of {self.max_body_bytes} bytes (max_body_bytes)"
                },
            )
        except TimeoutError:
            await _answer(
                scope,
                send_with_id,
                408,
                {
                    "detail": f"the request body did not arrive within {self.body_timeout_s:g} s "
                    "(request_timeout_s)"
                },
            )
        except _ClientGone:
            seen["status"] = CLIENT_GONE
        else:
            await self._run(scope, receive, send_with_id, body, rid, seen)
        finally:
            self._record(scope, rid, start, seen)

    async def _read_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], seen: dict[str, Any]
    ) -> bytes:
        """The whole body, counted as it arrives; never more than max_body_bytes in memory."""
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > self.max_body_bytes:
            seen["bytes_in"] = declared
            raise _BodyTooLarge(declared)  # refused unread
        chunks: list[bytes] = []
        size = 0
        with anyio.fail_after(self.body_timeout_s if self.body_timeout_s > 0 else None):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                seen["bytes_in"] = size
                if size > self.max_body_bytes:
                    raise _BodyTooLarge(size)
                if chunk:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return b"".join(chunks)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        rid: str,
        seen: dict[str, Any],
    ) -> None:
        """The app, with the body replayed; cancelled if the client leaves before its answer."""
        gone = anyio.Event()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def watch(cancel: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            if not seen["complete"]:  # the client left before its answer: stop its work
                seen["status"] = CLIENT_GONE
                self.metrics().client_gone.inc()
                cancel.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch, tg.cancel_scope)
            try:
                await self.app(scope, replay, send)
            except Exception as exc:  # noqa: BLE001 - every request gets an answer and a log line
                await self._server_error(scope, send, exc, rid, seen)
            finally:
                if seen["status"] != CLIENT_GONE:
                    tg.cancel_scope.cancel()  # stop watching

    async def _server_error(
        self, scope: Scope, send: Send, exc: Exception, rid: str, seen: dict[str, Any]
    ) -> None:
        eid = error_id()
        # The traceback's frames, not the exception message (which may quote report text).
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("error_id=%s request_id=%s %s\n%s", eid, rid, type(exc).__name__, frames)
        if seen["status"] is None:
            await _answer(scope, send, 500, {"error": "internal server error", "error_id": eid})
        else:  # the answer had started: nothing to do but close it
            seen["status"] = 500

    def _record(self, scope: Scope, rid: str, start: float, seen: dict[str, Any]) -> None:
        seconds = time.perf_counter() - start
        status = seen["status"] or 500
        route = self.route_of(scope)
        method = scope.get("method", "")
        metrics = self.metrics()
        metrics.requests.labels(method, route, str(status)).inc()
        metrics.latency.labels(route).observe(seconds)
        if route == "/static":
            return
        # Never the body, never the query string: only ids, sizes and timings.
        log.info(
            "request_id=%s method=%s route=%s status=%d bytes_in=%d ms=%.1f",
            rid,
            method,
            route,
            status,
            seen["bytes_in"],
            seconds * 1000,
        )


async def _answer(scope: Scope, send: Send, status: int, body: dict[str, Any]) -> None:
    async def nothing() -> Message:  # the response does not read the request
        return {"type": "http.disconnect"}

    await JSONResponse(body, status_code=status)(scope, nothing, send)
