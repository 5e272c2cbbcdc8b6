"""``POST /fhir/DiagnosticReport/$draft-impression``: a DiagnosticReport in, the same report
with a preliminary drafted conclusion out.

It drafts through the server's `DraftService` (micro-batcher, safety checks,
draft store, metrics), so a draft made over FHIR shows up on the review
pages like any other, and its id is returned in the extension. Every error a
FHIR client can get is an OperationOutcome with an HTTP 4xx/5xx status.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from radimpress.drafting import (
    DraftError,
    DraftOptions,
    FieldProblem,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
)
from radimpress.formats.fhir import (
    NOT_DRAFTABLE,
    FhirError,
    Issue,
    apply_draft,
    operation_outcome,
    parse_diagnostic_report,
    report_from_fhir,
)
from radimpress.serve.auth import require_reviewer
from radimpress.serve.deps import Service

log = logging.getLogger("radimpress.serve.fhir")
router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def _outcome(status: int, issues: list[Issue]) -> JSONResponse:
    return JSONResponse(operation_outcome(issues), status_code=status, media_type=FHIR_JSON)


def _unwrap(obj: Any) -> Any:
    """Accept a bare DiagnosticReport or the operation's Parameters form (parameter 'report')."""
    if isinstance(obj, dict) and obj.get("resourceType") == "Parameters":
        for p in obj.get("parameter") or []:
            if (
                isinstance(p, dict)
                and p.get("name") in ("report", "resource")
                and isinstance(p.get("resource"), dict)
            ):
                return p["resource"]
        raise FhirError(
            400,
            [
                Issue(
                    "error",
                    "required",
                    "Parameters has no 'report' parameter with a resource",
                    "Parameters.parameter",
                )
            ],
        )
    return obj


@router.post(
    "/DiagnosticReport/$draft-impression",
    responses={
        200: {"description": "the DiagnosticReport with conclusion = draft, status = preliminary"},
        400: {"description": "OperationOutcome: not JSON, not a DiagnosticReport, or invalid"},
        401: {"description": "missing or invalid bearer token"},
        422: {
            "description": "OperationOutcome: valid but unusable (no findings, withdrawn report)"
        },
        503: {"description": "OperationOutcome: model not loaded yet"},
    },
)
async def draft_impression(
    request: Request, service: Service, reviewer: Annotated[str, Depends(require_reviewer)]
):
    """Draft the impression of a FHIR R4 DiagnosticReport from its findings.

    Findings are read from ``presentedForm`` (text/plain) or contained
    Observations. The reply is the same resource with ``conclusion`` set to
    the draft, ``status`` = ``preliminary`` and an extension carrying the
    model name/version, the stored draft id and any safety warnings.
    """
    body = await request.body()
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        msg = (
            f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno}"
            if isinstance(e, json.JSONDecodeError)
            else "body is not UTF-8 JSON"
        )
        return _outcome(400, [Issue("error", "structure", msg)])
    try:
        resource = _unwrap(obj)
        dr = parse_diagnostic_report(resource)
        if dr.status in NOT_DRAFTABLE:
            raise FhirError(
                422,
                [
                    Issue(
                        "error",
                        "business-rule",
                        f"report status is {dr.status!r}; withdrawn reports get no draft",
                        "DiagnosticReport.status",
                    )
                ],
            )
        report = report_from_fhir(dr, "fhir-api")
        report.id = (report.id or f"fhir-{request.state.request_id}")[:200]
        (draft,) = await service.draft(
            [report], DraftOptions(), channel="fhir", request_id=request.state.request_id
        )
    except FhirError as e:
        return _outcome(e.status, e.issues)
    except DraftError as e:
        return _outcome(*_draft_error_issues(e))
    result = draft.result
    out = apply_draft(
        resource,
        result.impression,
        result.model.name,
        result.model.version,
        [w.message for w in result.warnings_for(0)],
        draft.id,
    )
    try:
        parse_diagnostic_report(out)  # never send back a resource we could not read ourselves
    except FhirError as e:
        log.error("draft DiagnosticReport failed validation: %s", e)
        return _outcome(
            500, [Issue("error", "exception", "the drafted resource failed validation")]
        )
    return JSONResponse(out, media_type=FHIR_JSON)


def _draft_error_issues(e: DraftError) -> tuple[int, list[Issue]]:
    """A drafting error as an HTTP status and OperationOutcome issues."""
    if isinstance(e, InvalidRequest):
        return 422, [
            Issue("error", "too-long" if p.kind == "too_long" else "invalid", p.message, _where(p))
            for p in e.problems
        ]
    if isinstance(e, ModelNotReady):
        return 503, [Issue("error", "transient", str(e))]
    if isinstance(e, ModelFailed):
        return 500, [Issue("error", "exception", str(e))]
    return 500, [Issue("error", "exception", type(e).__name__)]


def _where(problem: FieldProblem) -> str:
    """The FHIR element a request field came from (findings travel in presentedForm)."""
    return "DiagnosticReport.presentedForm" if problem.field == "findings" else "DiagnosticReport"
