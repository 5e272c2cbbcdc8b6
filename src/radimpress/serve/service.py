"""The server's drafting: every front door (REST, FHIR, MLLP) drafts through one service.

It owns the `Drafter`, the micro-batcher that feeds the model, the process
that runs the safety checks, the draft store and the metrics, so a draft
made over HL7 is batched with, checked like, stored beside and counted with
one made over REST. Front doors turn their input into `Report` objects, call
`DraftService.draft`, and translate the `DraftError` it may raise into their
own protocol (HTTP status, OperationOutcome, HL7 AE/AR).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from radimpress.drafting import (
    Drafter,
    DraftOptions,
    DraftResult,
    FieldProblem,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
)
from radimpress.drafting.checks import Checked, check_items, warm_up
from radimpress.records import Report
from radimpress.serve.batching import MicroBatcher, ModelError
from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Draft, Store, new_id

log = logging.getLogger("radimpress.serve")

TEXT_FIELDS = ("indication", "exam", "comparison")


def error_id() -> str:
    return "err-" + uuid.uuid4().hex[:12]


@dataclass
class StoredDraft:
    """A draft as the front doors answer it: the stored id plus the drafter's result."""

    id: str
    result: DraftResult
    latency_ms: float


class DraftService:
    """Load the model, then draft, check, store and count for every front door."""

    def __init__(self, settings: ServeSettings, store: Store, metrics: ServeMetrics) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.drafter: Drafter | None = None
        self.batcher: MicroBatcher | None = None
        self.load_error: str | None = None
        # A process for the safety checks (settings.safety_process), else a thread.
        self.safety_pool: concurrent.futures.ProcessPoolExecutor | None = None

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    async def load(self) -> None:
        """Load in a thread so /healthz answers (and /readyz says no) while weights load."""
        s = self.settings
        try:
            if s.model is not None:
                drafter = Drafter(s.model, safety_checks=s.safety_checks, safe_select=s.safe_select)
            else:
                drafter = await asyncio.to_thread(
                    Drafter.from_model_dir,
                    s.model_dir,
                    backend=s.backend,
                    safety_checks=s.safety_checks,
                    safe_select=s.safe_select,
                )
        except Exception as exc:  # noqa: BLE001 - report and stay up, /readyz says why
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("model failed to load from %s: %s", s.model_dir, self.load_error)
            return
        if s.safety_checks and s.safety_process:
            # spawn, not fork: the server already runs threads, which fork does not copy safely.
            self.safety_pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            await asyncio.get_running_loop().run_in_executor(self.safety_pool, warm_up)
        elif s.safety_checks:
            await asyncio.to_thread(warm_up)
        batcher = MicroBatcher(
            drafter.generate,
            max_batch_size=s.max_batch_size,
            max_wait_ms=s.max_wait_ms,
            enabled=s.batching,
            on_batch=self.metrics.observe_batch,
        )
        await batcher.start()
        self.drafter, self.batcher = drafter, batcher
        self.metrics.model_ready.set(1)
        info = drafter.info
        log.info("model ready: %s %s (%s, %s)", info.name, info.version, info.kind, drafter.runs_on)

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.stop()
        if self.safety_pool is not None:
            self.safety_pool.shutdown(cancel_futures=True)

    # -- limits -------------------------------------------------------------

    def limit_problems(self, report: Report, prefix: str = "") -> list[FieldProblem]:
        """The configurable limits of one report (empty findings included)."""
        s = self.settings
        out = []
        if not report.findings.strip():
            out.append(FieldProblem(f"{prefix}findings", "findings are empty", "empty"))
        if len(report.findings) > s.max_findings_chars:
            out.append(
                FieldProblem(
                    f"{prefix}findings",
                    f"findings have {len(report.findings)} characters; the limit is "
                    f"{s.max_findings_chars}",
                    "too_long",
                )
            )
        for name in TEXT_FIELDS:
            value = getattr(report, name)
            if value is not None and len(value) > s.max_field_chars:
                out.append(
                    FieldProblem(
                        f"{prefix}{name}",
                        f"{name} has {len(value)} characters; the limit is {s.max_field_chars}",
                        "too_long",
                    )
                )
        return out

    def candidates_problem(self, n: int, field: str = "num_candidates") -> list[FieldProblem]:
        if n > self.settings.max_candidates:
            return [
                FieldProblem(
                    field,
                    f"num_candidates is limited to {self.settings.max_candidates}",
                    "too_large",
                )
            ]
        return []

    # -- drafting -----------------------------------------------------------

    async def _check(self, items: list[tuple[str, Sequence[str]]]) -> Checked:
        if self.safety_pool is None:
            return await asyncio.to_thread(check_items, items)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.safety_pool, check_items, items)
        except Exception as exc:  # noqa: BLE001 - e.g. the checker process died: flag, never crash
            log.warning("safety process failed: %s", type(exc).__name__)
            return None

    async def draft(
        self,
        reports: Sequence[Report],
        options: DraftOptions,
        *,
        counts: Sequence[int] | None = None,
        channel: str = "rest",
        request_id: str | None = None,
        references: Sequence[str | None] | None = None,
        batch: bool = False,
    ) -> list[StoredDraft]:
        """Draft, check, store (committed before returning) and count.

        ``counts`` asks for a different number of candidates per report
        (a batch request may); the drafter drafts the largest. With ``batch``
        a problem's field names its report (``reports.3.findings``).
        Raises InvalidRequest, ModelNotReady or ModelFailed.
        """
        if self.drafter is None or self.batcher is None:
            raise ModelNotReady(failed=self.load_error is not None)
        problems = [
            p
            for i, r in enumerate(reports)
            for p in self.limit_problems(r, f"reports.{i}." if batch else "")
        ]
        problems += self.candidates_problem(max(counts or [options.num_candidates]))
        if problems:
            raise InvalidRequest(problems)
        start = time.perf_counter()
        try:
            results = await self.drafter.draft_async(
                reports, options, self.batcher.generate, self._check
            )
        except ModelError as exc:
            eid = error_id()
            self.metrics.model_errors.inc(len(reports))
            cause = exc.__cause__
            log.error(
                "error_id=%s request_id=%s reports=%d %s",
                eid,
                request_id,
                len(reports),
                type(cause).__name__ if cause else exc,
            )
            raise ModelFailed(eid) from exc
        if counts is not None:
            results = [r.top(n) for r, n in zip(results, counts, strict=True)]
        latency_ms = round((time.perf_counter() - start) * 1000, 2)
        now = time.time()
        refs = references or [None] * len(reports)
        drafts = [
            Draft(
                id=new_id(),
                created_at=now,
                request_id=request_id,
                channel=channel,
                report_id=report.id,
                model_name=res.model.name,
                model_version=res.model.version,
                findings=res.findings,  # as the model read it: warning offsets point into it
                indication=report.indication,
                exam=report.exam,
                reference=ref,
                candidates=res.candidates,
                warnings=[w.model_dump() for w in res.warnings],
            )
            for report, res, ref in zip(reports, results, refs, strict=True)
        ]
        # Committed before answering: an id the client has is an id the store has.
        await asyncio.to_thread(self.store.add_drafts, drafts)
        self.metrics.reports.inc(len(reports))
        self.metrics.drafts_by_channel.labels(channel).inc(len(reports))
        return [StoredDraft(d.id, res, latency_ms) for d, res in zip(drafts, results, strict=True)]
