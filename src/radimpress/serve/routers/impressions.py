"""POST /v1/impressions and /v1/impressions/batch: findings in, stored drafts out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from radimpress.drafting import DraftOptions, DraftWarning, FieldProblem, InvalidRequest, ModelInfo
from radimpress.records import Report
from radimpress.serve.auth import require_reviewer
from radimpress.serve.deps import Service
from radimpress.serve.service import StoredDraft

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

    def to_report(self, fallback_id: str) -> Report:
        return Report(
            id=self.report_id or fallback_id,
            findings=self.findings,
            exam=self.exam,
            indication=self.indication,
            comparison=self.comparison,
        )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ImpressionRequest] = Field(min_length=1)
    num_candidates: StrictInt | None = Field(default=None, ge=1)
    num_beams: StrictInt | None = Field(default=None, ge=1, le=16)


class ImpressionResponse(BaseModel):
    id: str = Field(description="draft id; the review page is /review/{id}")
    report_id: str | None = None
    impressions: list[str]
    model: ModelInfo
    latency_ms: float
    warnings: list[DraftWarning]

    @classmethod
    def of(cls, draft: StoredDraft, report_id: str | None) -> ImpressionResponse:
        return cls(
            id=draft.id,
            report_id=report_id,
            impressions=draft.result.candidates,
            model=draft.result.model,
            latency_ms=draft.latency_ms,
            warnings=draft.result.warnings,
        )


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


@router.post("/impressions", response_model=ImpressionResponse, responses=ERRORS)
async def create_impression(
    body: ImpressionRequest,
    request: Request,
    service: Service,
    reviewer: Annotated[str, Depends(require_reviewer)],
):
    """Draft an impression for one report's findings; the draft is stored for review."""
    rid = request.state.request_id
    (draft,) = await service.draft(
        [body.to_report(f"request-{rid}-0")],
        DraftOptions(num_candidates=body.num_candidates or 1, num_beams=body.num_beams),
        request_id=rid,
        references=[body.reference],
    )
    return ImpressionResponse.of(draft, body.report_id)


@router.post("/impressions/batch", response_model=BatchResponse, responses=ERRORS)
async def create_impressions_batch(
    body: BatchRequest,
    request: Request,
    service: Service,
    reviewer: Annotated[str, Depends(require_reviewer)],
):
    """Draft impressions for many reports in one call (one generate for all of them)."""
    rid = request.state.request_id
    settings = service.settings
    if len(body.reports) > settings.max_batch_items:
        raise InvalidRequest(
            [
                FieldProblem(
                    "reports",
                    f"{len(body.reports)} reports; the limit is {settings.max_batch_items}",
                    "too_long",
                )
            ]
        )
    counts = [it.num_candidates or body.num_candidates or 1 for it in body.reports]
    beams = body.num_beams or next((it.num_beams for it in body.reports if it.num_beams), None)
    drafts = await service.draft(
        [it.to_report(f"request-{rid}-{i}") for i, it in enumerate(body.reports)],
        DraftOptions(num_candidates=max(counts), num_beams=beams),
        counts=counts,
        request_id=rid,
        references=[it.reference for it in body.reports],
        batch=True,
    )
    results = [
        ImpressionResponse.of(d, it.report_id) for d, it in zip(drafts, body.reports, strict=True)
    ]
    return BatchResponse(results=results, model=results[0].model, latency_ms=drafts[0].latency_ms)
