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
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from radimpress.drafting import (
    DeadlineExceeded,
    Drafter,
    DraftOptions,
    DraftResult,
    FieldProblem,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
    RequestTooLarge,
)
from radimpress.drafting.checks import Checked, CheckItem
from radimpress.records import Report
from radimpress.serve.batching import MicroBatcher, ModelError
from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.safety_lanes import SafetyLanes
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Draft, Store, new_id

log = logging.getLogger("radimpress.serve")

# The draft made at start-up (never stored): a normal chest radiograph.
WARM_UP = Report(id="warm-up", findings="Heart size is normal. The lungs are clear. No effusion.")
TEXT_FIELDS = ("indication", "exam", "comparison")
# A character that is not white space, as Python (str.isspace) and JSON Schema (ECMA-262 \s)
# both count it: the OpenAPI document publishes this pattern for findings, and a findings
# without such a character is "empty" on every front door.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK)


def is_blank(text: str) -> bool:
    return _NOT_BLANK.search(text) is None


def error_id() -> str:
    return "err-" + uuid.uuid4().hex[:12]


@dataclass
class StoredDraft:
    """A draft as the front doors answer it: the stored id plus the drafter's result."""

    id: str
    result: DraftResult
    latency_ms: float


def _in_thread(drafter: Drafter):
    """The model step off the event loop, outside the batcher (not counted in /metrics)."""

    async def generate(reports: list[Report], options: DraftOptions) -> list[list[str]]:
        return await asyncio.to_thread(drafter.generate, reports, options)

    return generate


class DraftService:
    """Load the model, then draft, check, store and count for every front door."""

    def __init__(self, settings: ServeSettings, store: Store, metrics: ServeMetrics) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.drafter: Drafter | None = None
        self.batcher: MicroBatcher | None = None
        self.load_error: str | None = None
        # The safety checks' workers: processes (settings.safety_process) or threads.
        self.safety: SafetyLanes | None = None

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    async def load(self) -> None:
        """Load in a thread so /healthz answers (and /readyz says no) while weights load."""
        s = self.settings
        try:
            if s.model is not None:
                drafter = Drafter(
                    s.model,
                    safety_checks=s.safety_checks,
                    safe_select=s.safe_select,
                    recommend=s.recommend,
                    fallback=s.fallback,
                )
            else:
                drafter = await asyncio.to_thread(
                    Drafter.from_model_dir,
                    s.model_dir,
                    backend=s.backend,
                    safety_checks=s.safety_checks,
                    safe_select=s.safe_select,
                    recommend=s.recommend,
                    fallback=s.fallback,
                )
        except Exception as exc:  # noqa: BLE001 - report and stay up, /readyz says why
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("model failed to load from %s: %s", s.model_dir, self.load_error)
            return
        if s.safety_checks:
            safety = SafetyLanes(processes=s.safety_process, bulk_chars=s.safety_bulk_chars)
            await safety.start()
            self.safety = safety
        batcher = MicroBatcher(
            drafter.generate,
            max_batch_size=s.max_batch_size,
            max_wait_ms=s.max_wait_ms,
            enabled=s.batching,
            on_batch=self.metrics.observe_batch,
        )
        await batcher.start()
        drafter.model.progress = False  # no progress bars per request in the server log
        # One draft through the whole path before /readyz says yes, so the first real request
        # does not pay for lazy loading (tokenizers, index pages, the checker's pipeline).
        # A model that loads but cannot draft is a load failure: said in the log and /readyz,
        # not an exception lost in a background task with /readyz "not ready" forever.
        try:
            await drafter.draft_async([WARM_UP], DraftOptions(), _in_thread(drafter), self._check)
        except Exception as exc:  # noqa: BLE001 - report and stay up, /readyz says why
            self.load_error = f"the start-up draft failed: {type(exc).__name__}: {exc}"
            log.error("model from %s cannot draft: %s", s.model_dir, self.load_error)
            await batcher.stop()
            return
        self.drafter, self.batcher = drafter, batcher
        self.metrics.model_ready.set(1)
        info = drafter.info
        log.info("model ready: %s %s (%s, %s)", info.name, info.version, info.kind, drafter.runs_on)

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.stop()
        if self.safety is not None:
            await self.safety.close()

    # -- limits -------------------------------------------------------------

    def limit_problems(self, report: Report, prefix: str = "") -> list[FieldProblem]:
        """The configurable limits of one report (empty findings included)."""
        s = self.settings
        out = []
        if is_blank(report.findings):
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

    def batch_chars(self, reports: Sequence[Report]) -> int:
        """Characters the model and the checks read: findings and context fields."""
        return sum(
            len(r.findings) + sum(len(getattr(r, name) or "") for name in TEXT_FIELDS)
            for r in reports
        )

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

    async def _check(self, items: list[CheckItem]) -> Checked:
        assert self.safety is not None, "checks requested with safety_checks off"
        return await self.safety.check(items)

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
        Drafting stops at the request deadline (settings.request_timeout_s):
        what is still queued for the model or the checks is dropped. If the
        caller is cancelled (its client went away), the same happens.
        Raises InvalidRequest, RequestTooLarge, DeadlineExceeded, ModelNotReady
        or ModelFailed.
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
        chars = self.batch_chars(reports)
        if batch and chars > self.settings.max_batch_chars:
            raise RequestTooLarge("max_batch_chars", chars, self.settings.max_batch_chars)
        start = time.perf_counter()
        timeout = self.settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout if timeout and timeout > 0 else None):
                results = await self.drafter.draft_async(
                    reports, options, self.batcher.generate, self._check
                )
        except TimeoutError:
            self.metrics.deadline_exceeded.labels(channel).inc()
            log.warning(
                "request_id=%s deadline of %gs passed: reports=%d chars=%d; work dropped",
                request_id,
                timeout,
                len(reports),
                chars,
            )
            raise DeadlineExceeded(timeout) from None
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
