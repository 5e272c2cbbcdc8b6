"""Micro-batching: many concurrent requests, one model call.

Neural models spend most of a call on fixed costs (a forward pass per
decoding step whatever the batch size), so grouping the reports that arrive
within a few milliseconds raises throughput with load. The model runs in one
dedicated worker thread: the event loop keeps accepting requests, answering
health checks and serving review pages while the model works, and the model
(often not thread-safe) never runs twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from radimpress.drafting import DraftOptions
from radimpress.records import Report

log = logging.getLogger("radimpress.serve.batching")

Generate = Callable[[list[Report], DraftOptions], list[list[str]]]


class ModelError(RuntimeError):
    """The model raised while generating; the message never carries report text."""


@dataclass
class _Job:
    reports: list[Report]
    options: DraftOptions
    future: asyncio.Future
    enqueued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Collect jobs for up to ``max_wait_ms`` or ``max_batch_size`` reports, then generate once.

    ``generate`` is the drafter's model step. Jobs whose decoding options
    differ (beam width, say) cannot share a call and run as separate groups.
    With ``enabled=False`` every job is its own call (the baseline the
    benchmark compares against); jobs still run one at a time in the worker.
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
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radimpress-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="radimpress-batcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def generate(self, reports: list[Report], options: DraftOptions) -> list[list[str]]:
        """Queue reports and wait for their candidates (raises ModelError)."""
        if self._queue is None:
            raise RuntimeError("batcher not started")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(list(reports), options, future))
        return await future

    # -- the loop -------------------------------------------------------

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            first = await self._queue.get()
            jobs = [first]
            size = len(first.reports)
            if self.enabled:
                deadline = time.perf_counter() + self.max_wait
                while size < self.max_batch_size:
                    timeout = deadline - time.perf_counter()
                    if timeout <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), timeout)
                    except TimeoutError:
                        break
                    jobs.append(job)
                    size += len(job.reports)
            groups: dict[tuple, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(tuple(sorted(job.options.decoding().items())), []).append(job)
            for group in groups.values():
                await self._run_group(group)

    async def _run_group(self, jobs: list[_Job]) -> None:
        jobs = [j for j in jobs if not j.future.cancelled()]
        if not jobs:
            return
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._generate, jobs)
        except Exception as exc:  # noqa: BLE001 - any model failure becomes a ModelError
            if len(jobs) > 1:
                # One bad report should not fail its neighbours: retry each on its own.
                for job in jobs:
                    await self._run_group([job])
                return
            error = ModelError(f"model raised {type(exc).__name__}")
            error.__cause__ = exc
            if not jobs[0].future.done():
                jobs[0].future.set_exception(error)
            return
        for job, result in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)

    def _generate(self, jobs: list[_Job]) -> list[list[list[str]]]:
        """Runs in the worker thread: one model call for all jobs' reports."""
        reports = [r for job in jobs for r in job.reports]
        n = max(job.options.num_candidates for job in jobs)
        options = replace(jobs[0].options, num_candidates=n)
        start = time.perf_counter()
        candidates = self._generate_fn(reports, options)
        seconds = time.perf_counter() - start
        if len(candidates) != len(reports):
            raise ModelError(f"model returned {len(candidates)} results for {len(reports)} reports")
        if self.on_batch:
            self.on_batch(len(reports), seconds)
        log.debug(
            "batch reports=%d jobs=%d generate_ms=%.1f", len(reports), len(jobs), seconds * 1000
        )
        out, i = [], 0
        for job in jobs:
            out.append([[str(c) for c in cands] for cands in candidates[i : i + len(job.reports)]])
            i += len(job.reports)
        return out
