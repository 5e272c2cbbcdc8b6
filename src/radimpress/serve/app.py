"""The FastAPI app factory: API, review pages and dashboard on one server.

Routers are listed in ROUTERS as "module:attribute" strings and imported when
the app is built, so adding a resource (the FHIR API, say) is one line here
and importing radimpress.serve stays cheap. A router is responsible for its
own authentication (depend on ``radimpress.serve.auth.require_reviewer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
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
from radimpress.serve.settings import ServeSettings

log = logging.getLogger("radimpress.serve")

PACKAGE_DIR = Path(__file__).parent
ROUTERS = [
    "radimpress.serve.routers.health:router",
    "radimpress.serve.routers.impressions:router",
    "radimpress.serve.routers.docs:router",
    "radimpress.serve.routers.review:router",
    "radimpress.serve.routers.dashboard:router",
    "radimpress.serve.routers.fhir:router",
]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def error_id() -> str:
    return "err-" + uuid.uuid4().hex[:12]


def _load_routers(app: FastAPI) -> None:
    for target in ROUTERS:
        module, _, attr = target.partition(":")
        app.include_router(getattr(importlib.import_module(module), attr))


async def _load_model(app: FastAPI) -> None:
    """Load in a thread so /healthz answers (and /readyz says no) while weights load."""
    settings: ServeSettings = app.state.settings
    try:
        if settings.model is not None:
            model = settings.model
        else:
            from radimpress.models.base import load_model

            model = await asyncio.to_thread(load_model, settings.model_dir)
    except Exception as exc:  # noqa: BLE001 - report and stay up, /readyz says why
        app.state.model_error = f"{type(exc).__name__}: {exc}"
        log.error("model failed to load from %s: %s", settings.model_dir, app.state.model_error)
        return
    from radimpress.serve.warnings import warm_up

    generation = getattr(model, "generation", None)
    if hasattr(generation, "progress"):
        generation.progress = False  # no progress bars per request in the server log
    if settings.safety_checks and settings.safety_process:
        import concurrent.futures
        import multiprocessing

        # spawn, not fork: the server already runs threads, which fork does not copy safely.
        app.state.safety_pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        await asyncio.get_running_loop().run_in_executor(app.state.safety_pool, warm_up)
    elif settings.safety_checks:
        await asyncio.to_thread(warm_up)
    from radimpress.serve.batching import MicroBatcher

    batcher = MicroBatcher(
        model,
        max_batch_size=settings.max_batch_size,
        max_wait_ms=settings.max_wait_ms,
        enabled=settings.batching,
        on_batch=app.state.metrics.observe_batch,
    )
    await batcher.start()
    app.state.batcher = batcher
    app.state.model = model
    app.state.metrics.model_ready.set(1)
    info = model.info()
    log.info("model ready: %s %s (%s)", info.get("name"), info.get("version"), info.get("kind"))


def create_app(settings: ServeSettings) -> FastAPI:
    """Build the server; the model loads at start-up (see /readyz)."""
    from radimpress.serve.metrics import ServeMetrics
    from radimpress.serve.store import Store

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = Store(settings.db)
        loader = asyncio.create_task(_load_model(app))
        if settings.model is not None:
            await loader
        try:
            yield
        finally:
            loader.cancel()
            if app.state.batcher is not None:
                await app.state.batcher.stop()
            if app.state.safety_pool is not None:
                app.state.safety_pool.shutdown(cancel_futures=True)
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
    app.state.model = None
    app.state.model_error = None
    app.state.batcher = None
    app.state.safety_pool = None  # a process for the safety checks (settings.safety_process)
    app.state.store = None
    app.state.templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    from radimpress.serve.pages import install_filters

    install_filters(app.state.templates.env)
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    _install_middleware(app, settings)
    _install_error_handlers(app)
    _load_routers(app)
    return app


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
            getattr(request.state, "request_id", "-"),
            type(exc).__name__,
            frames,
        )
        return JSONResponse({"error": "internal server error", "error_id": eid}, status_code=500)


def app_from_env() -> FastAPI:
    """Factory for uvicorn's ``--factory`` (used by `radimpress serve --workers N`)."""
    return create_app(ServeSettings.from_env())
