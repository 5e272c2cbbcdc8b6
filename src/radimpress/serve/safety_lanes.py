"""The server's safety checks: fair between requests, cancellable, and tied to the server's life.

The checks cost more than the model for most reports, and their cost grows
faster than the text (a 20,000-character findings takes seconds), so how
they are scheduled decides whether one big request stalls everyone else:

- Each request's reports are checked in chunks of about ``chunk_chars``
  characters, and the chunks of waiting requests take turns, so a request
  waits for at most one chunk of someone else's before its own runs.
- Requests with more than ``bulk_chars`` characters of findings go to a
  second worker (the bulk lane) that runs at a lower CPU priority: a big
  batch never sits in front of a small request, and under load it gets the
  CPU the small ones leave.
- A request whose caller is gone (its future cancelled: client disconnect,
  deadline) leaves its lane before its next chunk; what it had not started
  is never checked.
- The workers are separate processes (``processes=True``; the parser holds
  the GIL, so in a thread it takes turns with the model). They die with the
  server, even on ``kill -9``: a parent-death signal on Linux and, anywhere,
  a thread that watches the parent process id.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from radimpress.drafting.checks import Checked, Item, check_items, warm_up
from radimpress.serve.batching import stop_worker

log = logging.getLogger("radimpress.serve.safety")

Items = list[Item]
CheckFn = Callable[[Items], Checked]

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_S = 0.5


def die_with_parent(parent_pid: int, nice: int = 0) -> None:
    """Worker initializer: end this process when the server process ends, however it ends.

    The parent-death signal covers ``kill -9`` of the server on Linux; the
    watch thread covers other systems and the moment before prctl ran.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="radimpress-parent-watch", daemon=True
    ).start()
    if nice:
        os.nice(nice)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


@dataclass(eq=False)
class _Request:
    items: Items
    future: asyncio.Future
    results: list = field(default_factory=list)
    next: int = 0


class _Lane:
    """One worker and the line of requests waiting for it, served a chunk at a time in turn."""

    def __init__(
        self,
        name: str,
        check: CheckFn,
        processes: bool,
        chunk_chars: int,
        nice: int = 0,
    ) -> None:
        self.name = name
        self.check = check
        self.processes = processes
        self.chunk_chars = chunk_chars
        self.nice = nice
        self.line: deque[_Request] = deque()
        self.wake = asyncio.Event()
        self.executor: concurrent.futures.Executor | None = None
        self.task = asyncio.create_task(self._run(), name=f"radimpress-safety-{name}")

    def _executor(self) -> concurrent.futures.Executor:
        if self.executor is None:
            if self.processes:
                # spawn, not fork: the server already runs threads, which fork does not copy safely.
                self.executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=die_with_parent,
                    initargs=(os.getpid(), self.nice),
                )
            else:
                self.executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"radimpress-safety-{self.name}"
                )
        return self.executor

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn in this lane's worker now (start-up work), outside the line."""
        return await asyncio.get_running_loop().run_in_executor(self._executor(), fn, *args)

    async def submit(self, items: Items) -> Checked:
        request = _Request(list(items), asyncio.get_running_loop().create_future())
        self.line.append(request)
        self.wake.set()
        return await request.future

    def _chunk(self, request: _Request) -> Items:
        end, size = request.next, 0
        while end < len(request.items) and (end == request.next or size < self.chunk_chars):
            size += len(request.items[end][0])
            end += 1
        chunk = request.items[request.next : end]
        request.next = end
        return chunk

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self.line and self.line[0].future.done():
                self.line.popleft()
            if not self.line:
                self.wake.clear()
                await self.wake.wait()
                continue
            request = self.line.popleft()
            chunk = self._chunk(request)
            try:
                found = await loop.run_in_executor(self._executor(), self.check, chunk)
            except Exception as exc:  # noqa: BLE001 - e.g. the worker died: flag, never crash
                log.warning("safety %s worker failed: %s", self.name, type(exc).__name__)
                self._discard_executor()
                found = None
            if request.future.done():
                continue
            if found is None:
                request.future.set_result(None)  # the drafter flags every report as unchecked
                continue
            request.results.extend(found)
            if request.next < len(request.items):
                self.line.append(request)  # behind the others waiting: they take turns
            else:
                request.future.set_result(request.results)

    def _discard_executor(self) -> None:
        """A broken worker is replaced by a new one on the next chunk."""
        executor, self.executor = self.executor, None
        if executor is not None:
            _stop_executor(executor)

    def pids(self) -> list[int]:
        processes = getattr(self.executor, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    async def close(self) -> None:
        await stop_worker(self.task, self.line)
        self._discard_executor()


def _stop_executor(executor: concurrent.futures.Executor) -> None:
    """Stop now: a check still running (seconds, for a long report) is not waited for."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()


class SafetyLanes:
    """Route each request's checks to the normal or the bulk lane; see the module docstring."""

    def __init__(
        self,
        *,
        processes: bool,
        bulk_chars: int = 4_000,
        chunk_chars: int = 2_000,
        bulk_nice: int = 10,
        check: CheckFn = check_items,
    ) -> None:
        self.processes = processes
        self.bulk_chars = bulk_chars
        self.chunk_chars = chunk_chars
        self.bulk_nice = bulk_nice
        self.check_fn = check
        self.normal: _Lane | None = None
        self.bulk: _Lane | None = None
        self._warming: asyncio.Task | None = None

    async def start(self, warm: Callable[[], None] | None = warm_up) -> None:
        """Start the workers and load the checker in them: the normal lane's before this
        returns (the server is not ready without it), the bulk lane's in the background, so
        the first big request does not pay the seconds the checker takes to load."""
        self.normal = _Lane("normal", self.check_fn, self.processes, self.chunk_chars)
        if self.bulk_chars:
            self.bulk = _Lane(
                "bulk", self.check_fn, self.processes, self.chunk_chars, nice=self.bulk_nice
            )
        if warm is not None:
            await self.normal.call(warm)
            if self.bulk is not None:
                self._warming = asyncio.create_task(self._warm(self.bulk, warm))

    @staticmethod
    async def _warm(lane: _Lane, warm: Callable[[], None]) -> None:
        try:
            await lane.call(warm)
        except Exception as exc:  # noqa: BLE001 - its first chunk will say so again
            log.warning("safety %s worker failed to start: %s", lane.name, type(exc).__name__)

    def lane_for(self, items: Items) -> _Lane:
        assert self.normal is not None, "SafetyLanes.start() first"
        chars = sum(len(item[0]) for item in items)  # each item's findings
        if self.bulk is not None and chars > self.bulk_chars:
            return self.bulk
        return self.normal

    async def check(self, items: Items) -> Checked:
        """Warnings for every candidate of every item, or None when the checker failed."""
        if not items:
            return []
        return await self.lane_for(items).submit(items)

    def pids(self) -> list[int]:
        """Process ids of the worker processes (for tests and the benchmark)."""
        return [pid for lane in (self.normal, self.bulk) if lane for pid in lane.pids()]

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        for lane in (self.normal, self.bulk):
            if lane is not None:
                await lane.close()
