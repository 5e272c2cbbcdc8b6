"""/healthz (process up), /readyz (model loaded, database open), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (for a liveness probe: restart only if this fails)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request):
    """Ready to draft: the model is loaded and the store is open (503 otherwise)."""
    state = request.app.state
    ready = state.model is not None and state.store is not None
    body = {"ready": ready}
    if state.model is not None:
        body["model"] = state.model.info()
    if state.model_error:
        body["error"] = state.model_error
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Requests, latency histogram and batch sizes in Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
