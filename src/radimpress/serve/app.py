"""The FastAPI app factory: API, review pages and dashboard on one server.

One router per resource (ROUTERS); adding a resource is one line there. A
router is responsible for its own authentication (depend on
``radimpress.serve.auth.require_reviewer``) and asks for the drafting
service and settings through ``radimpress.serve.deps``, so tests can
override them. Drafting errors (`radimpress.drafting.DraftError`) become
HTTP answers here, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import traceback
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from radimpress import __version__
from radimpress.drafting import InvalidRequest, ModelFailed, ModelNotReady
from radimpress.serve.metrics import ServeMetrics
from radimpress.serve.mllp import DraftResponder, MllpListener
from radimpress.serve.pages import install_filters
from radimpress.serve.routers import dashboard, docs, fhir, health, impressions, review
from radimpress.serve.service import DraftService, error_id
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Store

log = logging.getLogger("radimpress.serve")

PACKAGE_DIR = Path(__file__).parent
ROUTERS = [
    health.router,
    impressions.router,
    docs.router,
    review.router,
    dashboard.router,
    fhir.router,
]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(settings: ServeSettings) -> FastAPI:
    """Build the server; the model loads at start-up (see /readyz)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = Store(settings.db)
        app.state.service = DraftService(settings, app.state.store, app.state.metrics)
        loader = asyncio.create_task(app.state.service.load())
        if settings.model is not None:
            await loader
        listener = await _start_mllp(settings, app.state.service)
        try:
            yield
        finally:
            loader.cancel()
            if listener is not None:
                await listener.close()
            await app.state.service.close()
            app.state.store.close()

    app = FastAPI(
        title="radimpress",
        version=__version__,
        description="Draft radiology impressions from findings; review them; export feedback.",
        docs_url=None,  # served by routers/docs.py from vendored assets, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ServeMetrics()
    app.state.service = None
    app.state.store = None
    app.state.templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    install_filters(app.state.templates.env)
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    _install_middleware(app, settings)
    _install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _start_mllp(settings: ServeSettings, service: DraftService) -> MllpListener | None:
    """The MLLP listener beside HTTP (``--mllp-port``), drafting through the same service."""
    if settings.mllp_port is None:
        return None
    responder = DraftResponder.from_service(service, scrub=settings.mllp_scrub)
    listener = MllpListener(
        responder, settings.mllp_host, settings.mllp_port, max_frame=settings.mllp_max_frame
    )
    port = await listener.start()
    log.info("MLLP listener on %s:%d", settings.mllp_host, port)
    return listener


def _install_middleware(app: FastAPI, settings: ServeSettings) -> None:
    # Bodies bigger than a full batch of maximum-size reports are refused unread.
    max_body = (
        settings.max_batch_items * (settings.max_findings_chars + 3 * settings.max_field_chars) * 4
    )
    max_body = max(max_body, 1 << 20)

    @app.middleware("http")
    async def request_log(request: Request, call_next):
        rid = request.headers.get("x-request-id", "")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex[:16]
        request.state.request_id = rid
        start = time.perf_counter()
        size = int(request.headers.get("content-length") or 0)
        if size > max_body:
            response = JSONResponse(
                {"detail": f"request body of {size} bytes is over the {max_body} byte limit"},
                status_code=413,
            )
        else:
            response = await call_next(request)
        seconds = time.perf_counter() - start
        route = getattr(request.scope.get("route"), "path", None) or (
            "/static" if request.url.path.startswith("/static/") else "unmatched"
        )
        metrics = app.state.metrics
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(seconds)
        response.headers["X-Request-ID"] = rid
        # Never the body, never the query string: only ids, sizes and timings.
        if route != "/static":
            log.info(
                "request_id=%s method=%s route=%s status=%d bytes_in=%d ms=%.1f",
                rid,
                request.method,
                route,
                response.status_code,
                size,
                seconds * 1000,
            )
        return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # FastAPI's default echoes the input back; a 20,000-character report
        # does not help the caller find the problem, the location and reason do.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(InvalidRequest)
    async def invalid_request(request: Request, exc: InvalidRequest):
        errors = [
            {"loc": ["body", *_path(p.field)], "msg": p.message, "type": p.kind}
            for p in exc.problems
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(ModelNotReady)
    async def not_ready(request: Request, exc: ModelNotReady):
        eid = error_id()
        log.warning("error_id=%s request_id=%s %s", eid, _rid(request), exc)
        return JSONResponse({"error": str(exc), "error_id": eid}, status_code=503)

    @app.exception_handler(ModelFailed)
    async def model_failed(request: Request, exc: ModelFailed):
        return JSONResponse(
            {"error": "the model failed to draft this report", "error_id": exc.error_id},
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception):
        eid = error_id()
        # The traceback's frames, not the exception message (which may quote text).
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "error_id=%s request_id=%s %s\n%s",
            eid,
            _rid(request),
            type(exc).__name__,
            frames,
        )
        return JSONResponse({"error": "internal server error", "error_id": eid}, status_code=500)


def _rid(request: Request) -> str:
    return getattr(request.state, "request_id", "-")


def _path(field: str) -> list[str | int]:
    """'reports.3.findings' -> ['reports', 3, 'findings'] (pydantic's loc shape)."""
    return [int(p) if p.isdigit() else p for p in field.split(".")]


def app_from_env() -> FastAPI:
    """Factory for uvicorn's ``--factory`` (used by `radimpress serve --workers N`)."""
    return create_app(ServeSettings.from_env())
