"""The FastAPI app factory: API, review pages and dashboard on one server.

One router per resource (ROUTERS); adding a resource is one line there. A
router is responsible for its own authentication (depend on
``radimpress.serve.auth.require_reviewer``) and asks for the drafting
service and settings through ``radimpress.serve.deps``, so tests can
override them. The /v1 router is built from the settings (its request
models carry the server's limits, so /openapi.json tells the truth).
Drafting errors (`radimpress.drafting.DraftError`) become HTTP answers here,
in one place; every request passes the `RequestGuard` (request id, body cap,
disconnects, catch-all 500, log line and /metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path
from starlette.types import Scope

from radimpress import __version__
from radimpress.drafting import (
    DeadlineExceeded,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
    RequestTooLarge,
)
from radimpress.models.base import read_manifest
from radimpress.models.options import DECODING_OPTIONS
from radimpress.models.recipes import KINDS
from radimpress.records import InputError
from radimpress.serve.guard import RequestGuard
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
    impressions.build_router,  # built from the settings: see routers/impressions.py
    docs.router,
    review.router,
    dashboard.router,
    fhir.build_router,
]


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
    decoding = decoding_options(settings)
    routers = [r if isinstance(r, APIRouter) else r(settings, decoding) for r in ROUTERS]
    for router in routers:
        app.include_router(router)
    _install_guard(app, settings, routers)
    _install_error_handlers(app)
    return app


def decoding_options(settings: ServeSettings) -> frozenset[str]:
    """The decoding options the served model honours, known before it loads.

    From the model instance when a test hands one over; otherwise from the
    kind its manifest names (neural kinds take beam search options), without
    importing the model's libraries.
    """
    if settings.model is not None:
        return frozenset(getattr(settings.model, "decoding_options", frozenset()))
    if settings.model_dir is None:
        return frozenset()
    try:
        kind = KINDS.get(read_manifest(settings.model_dir)["kind"])
    except InputError:
        return frozenset()  # /readyz will say why the model did not load
    return DECODING_OPTIONS if kind is not None and kind.neural else frozenset()


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


def _install_guard(app: FastAPI, settings: ServeSettings, routers: list[APIRouter]) -> None:
    # Route templates, for labelling requests answered before routing (413, 408).
    templates = [
        (compile_path(route.path)[0], route.path)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute | Route)
    ]

    def route_of(scope: Scope) -> str:
        """The route template a request matched (the metrics label)."""
        route = getattr(scope.get("route"), "path", None)
        if route is not None:
            return route
        path = scope.get("path", "")
        if path.startswith("/static/"):
            return "/static"
        return next((t for regex, t in templates if regex.match(path)), "unmatched")

    app.add_middleware(
        RequestGuard,
        metrics=lambda: app.state.metrics,
        route_of=route_of,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.request_timeout_s,
    )


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

    @app.exception_handler(RequestTooLarge)
    async def too_large(request: Request, exc: RequestTooLarge):
        return JSONResponse({"detail": str(exc)}, status_code=413)

    @app.exception_handler(ModelNotReady)
    @app.exception_handler(DeadlineExceeded)
    async def unavailable(request: Request, exc: ModelNotReady | DeadlineExceeded):
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


def _rid(request: Request) -> str:
    return getattr(request.state, "request_id", "-")


def _path(field: str) -> list[str | int]:
    """'reports.3.findings' -> ['reports', 3, 'findings'] (pydantic's loc shape)."""
    return [int(p) if p.isdigit() else p for p in field.split(".")]


def app_from_env() -> FastAPI:
    """Factory for uvicorn's ``--factory`` (used by `radimpress serve --workers N`)."""
    return create_app(ServeSettings.from_env())
