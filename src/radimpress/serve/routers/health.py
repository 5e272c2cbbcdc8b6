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
    service = request.app.state.service
    ready = service is not None and service.ready and request.app.state.store is not None
    body: dict = {"ready": ready}
    if service is not None and service.drafter is not None:
        body["model"] = service.drafter.info.model_dump()
        body["runs_on"] = service.drafter.runs_on
    if service is not None and service.load_error:
        body["error"] = service.load_error
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Requests, latency histogram and batch sizes in Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
