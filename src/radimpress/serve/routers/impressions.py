"""POST /v1/impressions and /v1/impressions/batch: findings in, stored drafts out."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from radimpress.records import Report
from radimpress.serve.auth import require_reviewer
from radimpress.serve.store import Draft, new_id

log = logging.getLogger("radimpress.serve.api")
router = APIRouter(prefix="/v1", tags=["impressions"])


class ImpressionRequest(BaseModel):
    """One report's findings (and context, when known)."""

    model_config = ConfigDict(extra="forbid")

    findings: StrictStr = Field(description="FINDINGS section text")
    indication: StrictStr | None = Field(default=None, description="clinical indication")
    exam: StrictStr | None = Field(default=None, description="examination / modality")
    comparison: StrictStr | None = None
    report_id: StrictStr | None = Field(
        default=None, max_length=200, description="the caller's id for the report"
    )
    reference: StrictStr | None = Field(
        default=None, description="the radiologist's impression, when known"
    )
    num_candidates: StrictInt | None = Field(default=None, ge=1, description="candidates to return")
    num_beams: StrictInt | None = Field(
        default=None, ge=1, le=16, description="beam width (neural models only)"
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ImpressionRequest] = Field(min_length=1)
    num_candidates: StrictInt | None = Field(default=None, ge=1)
    num_beams: StrictInt | None = Field(default=None, ge=1, le=16)


class ModelInfo(BaseModel):
    name: str
    version: str


class Evidence(BaseModel):
    field: str
    start: int
    end: int
    text: str


class Warning_(BaseModel):
    type: str
    severity: str
    message: str
    candidate: int
    evidence: list[Evidence] = []


class ImpressionResponse(BaseModel):
    id: str = Field(description="draft id; the review page is /review/{id}")
    report_id: str | None = None
    impressions: list[str]
    model: ModelInfo
    latency_ms: float
    warnings: list[Warning_]


class BatchResponse(BaseModel):
    results: list[ImpressionResponse]
    model: ModelInfo
    latency_ms: float


class ErrorResponse(BaseModel):
    error: str
    error_id: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token"},
    413: {"description": "request body too large"},
    500: {"model": ErrorResponse, "description": "the model failed; quote error_id"},
    503: {"model": ErrorResponse, "description": "model not loaded yet"},
}


def _limits_check(req: ImpressionRequest, settings, loc: tuple) -> list[dict[str, Any]]:
    """Limits that come from settings (so they cannot be static pydantic constraints)."""
    errors = []
    if not req.findings.strip():
        errors.append({"loc": (*loc, "findings"), "msg": "findings are empty", "type": "empty"})
    if len(req.findings) > settings.max_findings_chars:
        errors.append(
            {
                "loc": (*loc, "findings"),
                "type": "too_long",
                "msg": f"findings have {len(req.findings)} characters; the limit is "
                f"{settings.max_findings_chars}",
            }
        )
    for name in ("indication", "exam", "comparison", "reference"):
        value = getattr(req, name)
        if value is not None and len(value) > settings.max_field_chars:
            errors.append(
                {
                    "loc": (*loc, name),
                    "type": "too_long",
                    "msg": f"{name} has {len(value)} characters; the limit is "
                    f"{settings.max_field_chars}",
                }
            )
    if req.num_candidates is not None and req.num_candidates > settings.max_candidates:
        errors.append(
            {
                "loc": (*loc, "num_candidates"),
                "type": "too_large",
                "msg": f"num_candidates is limited to {settings.max_candidates}",
            }
        )
    return errors


def _error(status: int, error: str, eid: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_id": eid}, status_code=status)


async def _check(app, pairs: list[tuple[str, list[str]]]) -> list[tuple[list[str], list[dict]]]:
    """Safety warnings, in the checker process when there is one, else in a thread."""
    from radimpress.serve.warnings import CHECK_FAILED, check_batch

    safe_select = app.state.settings.safe_select
    if app.state.safety_pool is None:
        return await asyncio.to_thread(check_batch, pairs, safe_select)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(app.state.safety_pool, check_batch, pairs, safe_select)
    except Exception as exc:  # noqa: BLE001 - e.g. the checker process died: flag, never crash
        log.warning("safety process failed: %s", type(exc).__name__)
        return [(list(cands), [dict(CHECK_FAILED)]) for _, cands in pairs]


async def _draft(
    request: Request, items: list[ImpressionRequest], counts: list[int], num_beams: int | None
) -> tuple[list[ImpressionResponse], float] | JSONResponse:
    from radimpress.serve.app import error_id
    from radimpress.serve.batching import ModelError

    app = request.app
    rid = request.state.request_id
    if app.state.batcher is None:
        eid = error_id()
        log.warning("error_id=%s request_id=%s model not ready", eid, rid)
        return _error(
            503,
            "model is not loaded yet" if not app.state.model_error else "model failed to load",
            eid,
        )
    start = time.perf_counter()
    reports = [
        Report(
            id=it.report_id or f"request-{rid}-{i}",
            findings=it.findings,
            impression=None,
            exam=it.exam,
            indication=it.indication,
            comparison=it.comparison,
        )
        for i, it in enumerate(items)
    ]
    try:
        results = await app.state.batcher.generate(reports, max(counts), num_beams)
    except ModelError as exc:
        eid = error_id()
        app.state.metrics.model_errors.inc(len(items))
        cause = exc.__cause__
        log.error(
            "error_id=%s request_id=%s reports=%d %s",
            eid,
            rid,
            len(items),
            type(cause).__name__ if cause else exc,
        )
        return _error(500, "the model failed to draft this report", eid)
    info = app.state.model.info()
    results = [cands[:n] for cands, n in zip(results, counts, strict=True)]
    if app.state.settings.safety_checks:
        pairs = [(it.findings, cands) for it, cands in zip(items, results, strict=True)]
        checked = await _check(app, pairs)
    else:
        checked = [(cands, []) for cands in results]
    results = [ranked for ranked, _ in checked]
    warnings = [w for _, w in checked]
    latency_ms = round((time.perf_counter() - start) * 1000, 2)
    now = time.time()
    drafts = [
        Draft(
            id=new_id(),
            created_at=now,
            request_id=rid,
            report_id=it.report_id,
            model_name=str(info.get("name", "")),
            model_version=str(info.get("version", "")),
            findings=it.findings,
            indication=it.indication,
            exam=it.exam,
            reference=it.reference,
            candidates=cands,
            warnings=warns,
        )
        for it, cands, warns in zip(items, results, warnings, strict=True)
    ]
    # Committed before answering: an id the client has is an id the store has.
    await asyncio.to_thread(app.state.store.add_drafts, drafts)
    app.state.metrics.reports.inc(len(items))
    model = ModelInfo(name=str(info.get("name", "")), version=str(info.get("version", "")))
    out = [
        ImpressionResponse(
            id=d.id,
            report_id=d.report_id,
            impressions=d.candidates,
            model=model,
            latency_ms=latency_ms,
            warnings=d.warnings,
        )
        for d in drafts
    ]
    return out, latency_ms


@router.post("/impressions", response_model=ImpressionResponse, responses=ERRORS)
async def create_impression(
    body: ImpressionRequest, request: Request, reviewer: Annotated[str, Depends(require_reviewer)]
):
    """Draft an impression for one report's findings; the draft is stored for review."""
    settings = request.app.state.settings
    errors = _limits_check(body, settings, ("body",))
    if errors:
        raise RequestValidationError(errors)
    result = await _draft(request, [body], [body.num_candidates or 1], body.num_beams)
    if isinstance(result, JSONResponse):
        return result
    return result[0][0]


@router.post("/impressions/batch", response_model=BatchResponse, responses=ERRORS)
async def create_impressions_batch(
    body: BatchRequest, request: Request, reviewer: Annotated[str, Depends(require_reviewer)]
):
    """Draft impressions for many reports in one call (one generate for all of them)."""
    settings = request.app.state.settings
    errors: list[dict[str, Any]] = []
    if len(body.reports) > settings.max_batch_items:
        errors.append(
            {
                "loc": ("body", "reports"),
                "type": "too_long",
                "msg": f"{len(body.reports)} reports; the limit is {settings.max_batch_items}",
            }
        )
    if body.num_candidates is not None and body.num_candidates > settings.max_candidates:
        errors.append(
            {
                "loc": ("body", "num_candidates"),
                "type": "too_large",
                "msg": f"num_candidates is limited to {settings.max_candidates}",
            }
        )
    for i, item in enumerate(body.reports):
        errors += _limits_check(item, settings, ("body", "reports", i))
    if errors:
        raise RequestValidationError(errors)
    counts = [it.num_candidates or body.num_candidates or 1 for it in body.reports]
    beams = body.num_beams or next((it.num_beams for it in body.reports if it.num_beams), None)
    result = await _draft(request, body.reports, counts, beams)
    if isinstance(result, JSONResponse):
        return result
    results, latency_ms = result
    return BatchResponse(results=results, model=results[0].model, latency_ms=latency_ms)
