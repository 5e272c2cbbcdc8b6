"""Micro-batching: many concurrent requests, one model call, and no request waits behind a big one.

Neural models spend most of a call on fixed costs (a forward pass per
decoding step whatever the batch size), so grouping the reports that arrive
within a few milliseconds raises throughput with load. The model runs in one
dedicated worker thread: the event loop keeps accepting requests, answering
health checks and serving review pages while the model works, and the model
(often not thread-safe) never runs twice at once.

A model call never holds more than ``max_batch_size`` reports, whoever sent
them: a 64-report batch request is drafted in slices, and every call shares
its places out one report per waiting job in turn. So a small request that
arrives while a big one is being drafted is in the very next call; it waits
for at most the one call already running. A job whose caller has gone (its
future cancelled: the client disconnected, or the deadline passed) leaves the
line before its next slice, so its remaining reports are never drafted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from radimpress.drafting import DraftOptions
from radimpress.records import Report

log = logging.getLogger("radimpress.serve.batching")

Generate = Callable[[list[Report], DraftOptions], list[list[str]]]


class ModelError(RuntimeError):
    """The model raised while generating; the message never carries report text."""


async def stop_worker(task: asyncio.Task | None, line: deque[Any]) -> None:
    """Cancel a queue's worker task, wait for it to end, and cancel the futures still queued."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for waiting in line:
        waiting.future.cancel()
    line.clear()


@dataclass(eq=False)
class _Job:
    reports: list[Report]
    options: DraftOptions
    future: asyncio.Future
    results: list[list[str] | None]
    sent: int = 0  # reports handed to the model so far (they are sent in order)
    answered: int = 0
    enqueued: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> tuple:
        """Jobs share a call only when the model decodes them the same way: the same options
        and as many candidates (a greedy model asked for 3 runs a beam search of 3, whose first
        beam is not the greedy draft: safe selection's second turn, `Drafter.widens`)."""
        return self.options.num_candidates, tuple(sorted(self.options.decoding().items()))

    @property
    def left(self) -> int:
        return len(self.reports) - self.sent


# One job's part of a call: reports[start:end].
_Slice = tuple[_Job, int, int]


class MicroBatcher:
    """Collect reports for up to ``max_wait_ms`` or ``max_batch_size``, then generate once.

    ``generate`` is the drafter's model step. Jobs whose decoding options
    differ (beam width, say) cannot share a call and run in separate calls.
    With ``enabled=False`` every call holds one job's reports only (the
    baseline the benchmark compares against); a big job is still sliced.
    """

    def __init__(
        self,
        generate: Generate,
        max_batch_size: int = 16,
        max_wait_ms: float = 10.0,
        enabled: bool = True,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._generate_fn = generate
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.enabled = enabled
        self.on_batch = on_batch
        self._line: deque[_Job] = deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radimpress-model")

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="radimpress-batcher")

    async def stop(self) -> None:
        await stop_worker(self._task, self._line)
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def waiting(self) -> int:
        """Reports queued and not yet handed to the model."""
        return sum(j.left for j in self._line if not j.future.done())

    async def generate(self, reports: list[Report], options: DraftOptions) -> list[list[str]]:
        """Queue reports and wait for their candidates (raises ModelError).

        Cancelling the caller cancels the job: what was not yet sent to the
        model is dropped.
        """
        if self._task is None or self._arrived is None:
            raise RuntimeError("batcher not started")
        if not reports:
            return []
        future = asyncio.get_running_loop().create_future()
        job = _Job(list(reports), options, future, [None] * len(reports))
        self._line.append(job)
        self._arrived.set()
        return await future

    # -- the loop -------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_work()
            taken = self._take()
            if taken:
                await self._call(taken)

    def _drop_finished(self) -> None:
        if any(j.future.done() for j in self._line):
            self._line = deque(j for j in self._line if not j.future.done())

    async def _wait_for_work(self) -> None:
        """Until a job is waiting, then up to max_wait (from its arrival) for a full call."""
        assert self._arrived is not None
        while True:
            self._drop_finished()
            if self._line:
                break
            self._arrived.clear()
            await self._arrived.wait()
        if not self.enabled:
            return
        deadline = self._line[0].enqueued + self.max_wait
        while self.waiting < self.max_batch_size:
            timeout = deadline - time.perf_counter()
            if timeout <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return

    def _take(self) -> list[_Slice]:
        """The next call's reports: one from each waiting job in turn, up to max_batch_size.

        Jobs that got places move behind those that did not, and a job whose
        reports have all been sent leaves the line (its future still waits).
        """
        self._drop_finished()
        if not self._line:
            return []
        key = self._line[0].key
        eligible = [j for j in self._line if j.key == key]
        if not self.enabled:
            eligible = eligible[:1]
        start = {j: j.sent for j in eligible}
        room = self.max_batch_size
        while room:
            before = room
            for job in eligible:
                if room and job.left:
                    job.sent += 1
                    room -= 1
            if room == before:
                break
        taken = [(j, start[j], j.sent) for j in eligible if j.sent > start[j]]
        served = {j for j, _, _ in taken}
        self._line = deque(
            [j for j in self._line if j not in served]
            + [j for j in self._line if j in served and j.left]
        )
        return taken

    async def _call(self, taken: list[_Slice]) -> None:
        taken = [s for s in taken if not s[0].future.done()]
        if not taken:
            return
        reports = [r for job, a, b in taken for r in job.reports[a:b]]
        options = taken[0][0].options  # the same for every job of the call (`_Job.key`)
        loop = asyncio.get_running_loop()
        try:
            candidates = await loop.run_in_executor(
                self._executor, self._generate, reports, options, len(taken)
            )
        except Exception as exc:  # noqa: BLE001 - any model failure becomes a ModelError
            if len(taken) > 1:
                # One bad report should not fail its neighbours: retry each job's slice alone.
                for part in taken:
                    await self._call([part])
                return
            job = taken[0][0]
            error = ModelError(f"model raised {type(exc).__name__}")
            error.__cause__ = exc
            if not job.future.done():
                job.future.set_exception(error)
            return
        i = 0
        for job, a, b in taken:
            job.results[a:b] = candidates[i : i + b - a]
            i += b - a
            job.answered += b - a
            if job.answered == len(job.reports) and not job.future.done():
                job.future.set_result(job.results)

    def _generate(self, reports: list[Report], options: DraftOptions, jobs: int) -> list[list[str]]:
        """Runs in the worker thread: one model call."""
        start = time.perf_counter()
        candidates = self._generate_fn(reports, options)
        seconds = time.perf_counter() - start
        if len(candidates) != len(reports):
            raise ModelError(f"model returned {len(candidates)} results for {len(reports)} reports")
        if self.on_batch:
            self.on_batch(len(reports), seconds)
        log.debug("batch reports=%d jobs=%d generate_ms=%.1f", len(reports), jobs, seconds * 1000)
        return [[str(c) for c in cands] for cands in candidates]
