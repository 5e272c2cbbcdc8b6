"""Micro-batching: many concurrent requests, one ``generate`` call.

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
import inspect
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from radimpress.records import Report

log = logging.getLogger("radimpress.serve.batching")


class ModelError(RuntimeError):
    """The model raised while generating; the message never carries report text."""


@dataclass
class _Job:
    reports: list[Report]
    num_candidates: int
    num_beams: int | None
    future: asyncio.Future
    enqueued: float = field(default_factory=time.perf_counter)


def _accepts_kwarg(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class MicroBatcher:
    """Collect jobs for up to ``max_wait_ms`` or ``max_batch_size`` reports, then generate once.

    With ``enabled=False`` every job is its own generate call (the baseline the
    benchmark compares against); jobs still run one at a time in the worker.
    """

    def __init__(
        self,
        model: Any,
        max_batch_size: int = 16,
        max_wait_ms: float = 10.0,
        enabled: bool = True,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.model = model
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.enabled = enabled
        self.on_batch = on_batch
        # Beam width reaches the model as a generate() argument, or through its
        # generation options (radimpress' neural models); otherwise it is ignored.
        self._beams_kwarg = _accepts_kwarg(model.generate, "num_beams")
        self._beams_option = hasattr(getattr(model, "generation", None), "num_beams")
        self._beams_ok = self._beams_kwarg or self._beams_option
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

    async def generate(
        self, reports: Sequence[Report], num_candidates: int = 1, num_beams: int | None = None
    ) -> list[list[str]]:
        """Queue reports and wait for their candidates (raises ModelError)."""
        if self._queue is None:
            raise RuntimeError("batcher not started")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(list(reports), num_candidates, num_beams, future))
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
            # Jobs asking for different beam settings cannot share a call.
            groups: dict[int | None, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.num_beams if self._beams_ok else None, []).append(job)
            for beams, group in groups.items():
                await self._run_group(group, beams)

    async def _run_group(self, jobs: list[_Job], num_beams: int | None) -> None:
        jobs = [j for j in jobs if not j.future.cancelled()]
        if not jobs:
            return
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._generate, jobs, num_beams)
        except Exception as exc:  # noqa: BLE001 - any model failure becomes a ModelError
            if len(jobs) > 1:
                # One bad report should not fail its neighbours: retry each on its own.
                for job in jobs:
                    await self._run_group([job], num_beams)
                return
            error = ModelError(f"model raised {type(exc).__name__}")
            error.__cause__ = exc
            if not jobs[0].future.done():
                jobs[0].future.set_exception(error)
            return
        for job, result in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)

    def _generate(self, jobs: list[_Job], num_beams: int | None) -> list[list[list[str]]]:
        """Runs in the worker thread: one generate call for all jobs' reports."""
        reports = [r for job in jobs for r in job.reports]
        n = max(job.num_candidates for job in jobs)
        kwargs = {"num_beams": num_beams} if (num_beams and self._beams_kwarg) else {}
        restore = None
        if num_beams and not self._beams_kwarg and self._beams_option:
            # Safe: this worker thread is the only caller of the model.
            restore = self.model.generation.num_beams
            self.model.generation.num_beams = num_beams
        start = time.perf_counter()
        try:
            candidates = self.model.generate(reports, num_candidates=n, **kwargs)
        finally:
            if restore is not None:
                self.model.generation.num_beams = restore
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
            chunk = candidates[i : i + len(job.reports)]
            i += len(job.reports)
            out.append([[str(c) for c in cands[: job.num_candidates]] for cands in chunk])
        return out
