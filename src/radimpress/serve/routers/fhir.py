"""``POST /fhir/DiagnosticReport/$draft-impression``: a DiagnosticReport in, the same report
with a preliminary drafted conclusion out.

It drafts through the server's `DraftService` (micro-batcher, safety checks,
draft store, metrics), so a draft made over FHIR shows up on the review
pages like any other, and its id is returned in the extension. Every error a
FHIR client can get is an OperationOutcome with an HTTP 4xx/5xx status.

The body is read as raw JSON (FHIR's own validation gives better messages
than a pydantic model), so its OpenAPI description is written here by hand:
a JSON schema of the subset of DiagnosticReport the server reads, with the
server's limits in it (`fhir_body_schema`).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from radimpress.drafting import (
    DeadlineExceeded,
    DraftError,
    DraftOptions,
    FieldProblem,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
)
from radimpress.formats.fhir import (
    NOT_DRAFTABLE,
    REPORT_STATUS,
    FhirError,
    Issue,
    apply_draft,
    operation_outcome,
    parse_diagnostic_report,
    report_from_fhir,
)
from radimpress.serve.auth import require_reviewer
from radimpress.serve.deps import Service
from radimpress.serve.settings import ServeSettings

log = logging.getLogger("radimpress.serve.fhir")
FHIR_JSON = "application/fhir+json"
# What base64.b64decode(validate=True) accepts.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def fhir_body_schema(settings: ServeSettings) -> dict[str, Any]:
    """JSON schema of the request body: a DiagnosticReport, bare or in a Parameters resource.

    Only the elements the server reads are described (and other elements are
    refused by this schema, though the server accepts any valid R4 element and
    returns it unchanged; findings in contained Observations that ``result``
    points to are read too when there is no presentedForm). The findings travel
    base64-encoded in presentedForm, so what the schema cannot say is that the
    decoded text must hold findings: text that is blank, or has section headers
    but no FINDINGS, is answered 422.
    """
    fhir_string = {"type": "string", "minLength": 1}  # FHIR strings are never empty
    # Decoded, the text holds at most max_findings_chars characters.
    data_chars = 4 * (settings.max_findings_chars // 3)
    report = {
        "type": "object",
        "description": "FHIR R4 DiagnosticReport: the elements radimpress reads (other valid "
        "R4 elements are accepted and returned unchanged). The decoded presentedForm text must "
        "hold findings (its FINDINGS section if it has section headers), else the answer is 422.",
        "required": ["resourceType", "status", "code", "presentedForm"],
        "properties": {
            "resourceType": {"const": "DiagnosticReport"},
            "id": {"type": "string", "pattern": r"^[A-Za-z0-9.-]{1,64}$"},
            "status": {
                "enum": sorted(REPORT_STATUS - NOT_DRAFTABLE),
                "description": "cancelled and entered-in-error reports get no draft (422)",
            },
            "code": {
                "type": "object",
                "description": "the examination; its text is read as the exam",
                "properties": {"text": fhir_string | {"maxLength": settings.max_field_chars}},
                "additionalProperties": False,
            },
            "presentedForm": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "contentType": {"enum": ["text/plain", "text/plain; charset=utf-8"]},
                        "data": {
                            "type": "string",
                            "minLength": 4,
                            "maxLength": data_chars,
                            "pattern": BASE64,
                            "contentEncoding": "base64",
                            "contentMediaType": "text/plain",
                            "description": "the report text, base64: the FINDINGS section if it "
                            "has section headers, else all of it",
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "conclusion": fhir_string | {"description": "the radiologist's impression, if any"},
        },
        "additionalProperties": False,
    }
    parameters = {
        "type": "object",
        "description": "the operation's Parameters form: the report in parameter 'report'",
        "required": ["resourceType", "parameter"],
        "properties": {
            "resourceType": {"const": "Parameters"},
            "parameter": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["name", "resource"],
                    "properties": {"name": {"enum": ["report", "resource"]}, "resource": report},
                },
            },
        },
    }
    return {"oneOf": [report, parameters]}


OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code", "diagnostics"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
DRAFTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "status", "conclusion", "extension"],
    "properties": {
        "resourceType": {"const": "DiagnosticReport"},
        "status": {"const": "preliminary"},
        "conclusion": {"type": "string", "description": "the draft impression"},
        "extension": {"type": "array", "items": {"type": "object"}},
    },
}
DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}


def _outcome_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": OUTCOME_SCHEMA}}}


def _detail_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": DETAIL_SCHEMA}}}


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


def build_router(settings: ServeSettings, decoding: frozenset[str]) -> APIRouter:
    """The FHIR operation, its body described with this server's limits."""
    router = APIRouter(prefix="/fhir", tags=["fhir"])
    body_schema = fhir_body_schema(settings)
    router.add_api_route(
        "/DiagnosticReport/$draft-impression",
        draft_impression,
        methods=["POST"],
        response_class=JSONResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    FHIR_JSON: {"schema": body_schema},
                    "application/json": {"schema": body_schema},
                },
            }
        },
        responses={
            200: {
                "description": "the DiagnosticReport with conclusion = draft, status = preliminary",
                "content": {FHIR_JSON: {"schema": DRAFTED_SCHEMA}},
            },
            400: _outcome_response("not JSON, not a DiagnosticReport, or invalid"),
            401: _detail_response("missing or invalid bearer token"),
            408: _detail_response(
                f"the body did not arrive within {settings.request_timeout_s:g} s"
            ),
            413: _detail_response(f"body over {settings.max_body_bytes} bytes (max_body_bytes)"),
            422: _outcome_response(
                "valid but unusable: no findings, findings over the limit, withdrawn report"
            ),
            500: _outcome_response("the model failed"),
            503: _outcome_response(
                "model not loaded yet, or no draft within the "
                f"{settings.request_timeout_s:g} s request deadline"
            ),
        },
    )
    return router


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
    except (ValueError, RecursionError) as e:
        if isinstance(e, json.JSONDecodeError):
            msg = f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno}"
        elif isinstance(e, UnicodeDecodeError):
            msg = "body is not UTF-8 JSON"
        else:  # nested too deeply, or a number too long to read
            msg = f"body is not usable JSON: {type(e).__name__}"
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
    if isinstance(e, DeadlineExceeded):
        return 503, [Issue("error", "timeout", str(e))]
    if isinstance(e, ModelFailed):
        return 500, [Issue("error", "exception", str(e))]
    return 500, [Issue("error", "exception", type(e).__name__)]


def _where(problem: FieldProblem) -> str:
    """The FHIR element a request field came from (findings travel in presentedForm)."""
    return "DiagnosticReport.presentedForm" if problem.field == "findings" else "DiagnosticReport"
