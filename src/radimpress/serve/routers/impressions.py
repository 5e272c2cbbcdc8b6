"""POST /v1/impressions and /v1/impressions/batch: findings in, stored drafts out.

The request models are built from the server's settings when the app is
built (`build_router`), so the OpenAPI document states the limits this server
enforces (characters per field, candidates, reports per batch) and offers
only the decoding options its model honours: a client that follows the
schema is never refused for a limit it could not see.
"""

# No `from __future__ import annotations`: the endpoints' body types are built at run time
# and FastAPI must see the classes, not their names.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from radimpress.drafting import DraftOptions, DraftWarning, ModelInfo
from radimpress.records import Report
from radimpress.serve.auth import require_reviewer
from radimpress.serve.deps import Service
from radimpress.serve.service import NOT_BLANK, StoredDraft, is_blank
from radimpress.serve.settings import ServeSettings

MAX_BEAMS = 16
MAX_REPORT_ID = 200


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(low: int, high: int) -> Any:
    """An integer in [low, high] as JSON Schema counts them (2.0 is one); never a string or a
    boolean. The bounds come before the validator so the schema states them."""
    return Annotated[StrictInt, Field(ge=low, le=high), BeforeValidator(_integral)]


def limited_text(name: str, limit: int, setting: str, *, required: bool = False) -> Any:
    """A string type with a character limit (and, if required, not blank) that says so in the
    schema and, when broken, names the field, the limit and the setting that sets it."""

    def check(value: str) -> str:
        if required and is_blank(value):
            raise PydanticCustomError("empty", "{name} are empty", {"name": name})
        if len(value) > limit:
            raise PydanticCustomError(
                "string_too_long",
                "{name}: {size} characters; the limit ({setting}) is {limit}",
                {"name": name, "size": len(value), "setting": setting, "limit": limit},
            )
        return value

    schema: dict[str, Any] = {"type": "string", "maxLength": limit}
    if required:
        schema |= {"minLength": 1, "pattern": NOT_BLANK}
    return Annotated[StrictStr, AfterValidator(check), WithJsonSchema(schema)]


class _ImpressionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_report(self, fallback_id: str) -> Report:
        return Report(
            id=self.report_id or fallback_id,  # type: ignore[attr-defined]
            findings=self.findings,  # type: ignore[attr-defined]
            exam=self.exam,  # type: ignore[attr-defined]
            indication=self.indication,  # type: ignore[attr-defined]
            comparison=self.comparison,  # type: ignore[attr-defined]
        )


class _Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


def request_models(
    settings: ServeSettings, decoding: frozenset[str]
) -> tuple[type[BaseModel], type[BaseModel]]:
    """ImpressionRequest and BatchRequest carrying this server's limits and decoding options."""
    s = settings

    def context(name: str, description: str) -> tuple[Any, Any]:
        text = limited_text(name, s.max_field_chars, "max_field_chars")
        return (text | None, Field(default=None, description=description))

    candidates = (
        json_int(1, s.max_candidates) | None,
        Field(
            default=None, description=f"candidates to return (1 to {s.max_candidates}; default 1)"
        ),
    )
    beams: dict[str, Any] = {}
    if "num_beams" in decoding:
        beams["num_beams"] = (
            json_int(1, MAX_BEAMS) | None,
            Field(default=None, description="beam width (1 = greedy)"),
        )
    item = create_model(
        "ImpressionRequest",
        __base__=_ImpressionFields,
        __doc__="One report's findings (and context, when known).",
        findings=(
            limited_text("findings", s.max_findings_chars, "max_findings_chars", required=True),
            Field(description="FINDINGS section text (not blank)"),
        ),
        indication=context("indication", "clinical indication"),
        exam=context("exam", "examination / modality"),
        comparison=context("comparison", "comparison studies"),
        report_id=(
            StrictStr | None,
            Field(
                default=None, max_length=MAX_REPORT_ID, description="the caller's id for the report"
            ),
        ),
        reference=(
            limited_text("reference", s.max_findings_chars, "max_findings_chars") | None,
            Field(default=None, description="the radiologist's impression, when known"),
        ),
        num_candidates=candidates,
        **beams,
    )
    batch = create_model(
        "BatchRequest",
        __base__=_Forbid,
        __doc__=(
            f"Up to {s.max_batch_items} reports, holding at most {s.max_batch_chars} characters "
            "of findings and context fields in all (max_batch_chars; more is answered 413)."
        ),
        reports=(
            list[item],  # type: ignore[valid-type]
            Field(min_length=1, max_length=s.max_batch_items),
        ),
        num_candidates=candidates,
        **beams,
    )
    return item, batch


class ImpressionResponse(BaseModel):
    id: str = Field(description="draft id; the review page is /review/{id}")
    report_id: str | None = None
    impressions: list[str] = Field(description="candidates, best first")
    model: ModelInfo
    latency_ms: float
    warnings: list[DraftWarning]

    @classmethod
    def of(cls, draft: StoredDraft, report_id: str | None) -> "ImpressionResponse":
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
    error_id: str = Field(description="quote it when reporting the problem; the log has it")


class Detail(BaseModel):
    detail: str


def error_responses(settings: ServeSettings) -> dict[int | str, dict[str, Any]]:
    return {
        400: {
            "model": Detail,
            "description": "the body could not be read as JSON (not UTF-8, nested too deeply...)",
        },
        401: {"model": Detail, "description": "missing or invalid bearer token"},
        408: {
            "model": Detail,
            "description": f"the body did not arrive within {settings.request_timeout_s:g} s",
        },
        413: {
            "model": Detail,
            "description": f"body over {settings.max_body_bytes} bytes (max_body_bytes), or a "
            f"batch over {settings.max_batch_chars} characters (max_batch_chars)",
        },
        500: {"model": ErrorResponse, "description": "the model failed; quote error_id"},
        503: {
            "model": ErrorResponse,
            "description": "model not loaded yet, or the draft was not done within the "
            f"{settings.request_timeout_s:g} s request deadline (request_timeout_s)",
        },
    }


def build_router(settings: ServeSettings, decoding: frozenset[str]) -> APIRouter:
    """The /v1 routes for this server's limits and its model's decoding options."""
    router = APIRouter(prefix="/v1", tags=["impressions"])
    ImpressionRequest, BatchRequest = request_models(settings, decoding)  # noqa: N806
    errors = error_responses(settings)

    @router.post("/impressions", response_model=ImpressionResponse, responses=errors)
    async def create_impression(
        body: ImpressionRequest,  # type: ignore[valid-type]
        request: Request,
        service: Service,
        reviewer: Annotated[str, Depends(require_reviewer)],
    ):
        """Draft an impression for one report's findings; the draft is stored for review."""
        rid = request.state.request_id
        (draft,) = await service.draft(
            [body.to_report(f"request-{rid}-0")],
            DraftOptions(
                num_candidates=body.num_candidates or 1, num_beams=getattr(body, "num_beams", None)
            ),
            request_id=rid,
            references=[body.reference],
        )
        return ImpressionResponse.of(draft, body.report_id)

    @router.post("/impressions/batch", response_model=BatchResponse, responses=errors)
    async def create_impressions_batch(
        body: BatchRequest,  # type: ignore[valid-type]
        request: Request,
        service: Service,
        reviewer: Annotated[str, Depends(require_reviewer)],
    ):
        """Draft impressions for many reports in one call.

        The model drafts them in calls of at most max_batch_size reports,
        taking turns with other clients' requests.
        """
        rid = request.state.request_id
        items = body.reports
        counts = [it.num_candidates or body.num_candidates or 1 for it in items]
        beams = getattr(body, "num_beams", None) or next(
            (b for it in items if (b := getattr(it, "num_beams", None))), None
        )
        drafts = await service.draft(
            [it.to_report(f"request-{rid}-{i}") for i, it in enumerate(items)],
            DraftOptions(num_candidates=max(counts), num_beams=beams),
            counts=counts,
            request_id=rid,
            references=[it.reference for it in items],
            batch=True,
        )
        results = [
            ImpressionResponse.of(d, it.report_id) for d, it in zip(drafts, items, strict=True)
        ]
        return BatchResponse(
            results=results, model=results[0].model, latency_ms=drafts[0].latency_ms
        )

    return router
