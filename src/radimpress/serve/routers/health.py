"""/healthz (process up), /readyz (model loaded, database open), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])

_READY = {
    "type": "object",
    "required": ["ready"],
    "properties": {
        "ready": {"type": "boolean"},
        "model": {"type": "object", "description": "name, version and kind of the loaded model"},
        "error": {"type": "string", "description": "why the model failed to load"},
    },
}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (for a liveness probe: restart only if this fails)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_class=JSONResponse,
    responses={
        200: {"description": "ready", "content": {"application/json": {"schema": _READY}}},
        503: {"description": "not ready", "content": {"application/json": {"schema": _READY}}},
    },
)
async def readyz(request: Request):
    """Ready to draft: the model is loaded and the store is open (503 otherwise)."""
    service = request.app.state.service
    ready = service is not None and service.ready and request.app.state.store is not None
    body: dict = {"ready": ready}
    if service is not None and service.drafter is not None:
        body["model"] = service.drafter.info.model_dump()
        body["runs_on"] = service.drafter.runs_on
    if service is not None and service.load_error:
        body["error"] = service.load_error
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    """Requests, latency histogram and batch sizes in Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
