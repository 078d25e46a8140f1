"""create_app(): settings, database, jurisdictions, routers and each domain's background work."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch import metrics as metrics_router
from dispatch import ops as ops_router
from dispatch.alerts import router as alerts_router
from dispatch.alerts import runtime as alerts_runtime
from dispatch.alerts.resolver import Resolver
from dispatch.auth import router as auth_router
from dispatch.auth import service as auth_service
from dispatch.care import router as care_router
from dispatch.care import runtime as care_runtime
from dispatch.clock import Clock, SystemClock
from dispatch.config import Settings, get_settings
from dispatch.console import router as console_router
from dispatch.console import runtime as console_runtime
from dispatch.db import Database
from dispatch.escalation import router as escalation_router
from dispatch.escalation import runtime as escalation_runtime
from dispatch.live import router as live_router
from dispatch.live import runtime as live_runtime
from dispatch.middleware import ArrivalMiddleware
from dispatch.notify import router as notify_router
from dispatch.notify import runtime as notify_runtime
from dispatch.pii import PiiVault
from dispatch.ratelimit import RateLimiter
from dispatch.review import router as review_router
from dispatch.review import runtime as review_runtime
from dispatch.tipline import router as tipline_router
from dispatch.tipline import runtime as tipline_runtime

log = logging.getLogger(__name__)

# Order matters: notifications before escalation (it sends through them), live hub first.
RUNTIMES = [
    live_runtime,
    notify_runtime,
    escalation_runtime,
    alerts_runtime,  # after escalation: takes its first step for new alerts
    care_runtime,
    review_runtime,
    tipline_runtime,
    console_runtime,
]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
    create_tables: bool = True,
) -> FastAPI:
    """Build the service; tests pass their own settings, clock and database."""
    settings = settings or get_settings()
    clock = clock or SystemClock()
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if create_tables:
            database.create_all()
        # Request handlers run in threads that share the GIL; requests beyond this many wait
        # in the event loop (DISPATCH_REQUEST_THREADS, a tuning knob for operators).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        database.start_background()
        started = []
        try:
            for runtime in RUNTIMES:
                await runtime.start(app)
                started.append(runtime)
            if settings.gc_freeze:
                # Everything built at start-up (the jurisdiction index, the policy, modules)
                # lives as long as the process: keep it out of the collector's full passes,
                # which otherwise stall a request now and then for tens of milliseconds.
                gc.collect()
                gc.freeze()
                _, middle, _ = gc.get_threshold()
                gc.set_threshold(settings.gc_young_every, middle, settings.gc_full_every)
            yield
        finally:
            for runtime in reversed(started):
                await runtime.stop(app)
            await anyio.to_thread.run_sync(database.stop_background)

    app = FastAPI(
        title="crisis-dispatch",
        version="0.1.0",
        summary="Crisis-alert intake, routing, live consoles and escalation for police",
        lifespan=lifespan,
        # The service exports its own Prometheus metrics (/metrics) and structured logs:
        # FastAPI's OpenTelemetry hooks stay off (no provider check on every request).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.database = database
    app.state.resolver = Resolver.load(
        settings.jurisdictions_path,
        gazetteer=settings.gazetteer_path,
        online_url=settings.online_geocoder_url,
        nearest_max_m=settings.nearest_max_m,
    )
    app.state.vault = PiiVault(settings.pii_key)
    app.state.login_limiter = RateLimiter(settings.login_rate_per_minute, 60.0)
    app.state.partner_limiter = RateLimiter(settings.partner_rate_per_second, 1.0)
    app.state.partner_keys = auth_service.PartnerKeys()

    for module in (
        ops_router,
        metrics_router,
        auth_router,
        alerts_router,
        live_router,
        escalation_router,
        notify_router,
        care_router,
        review_router,
        tipline_router,
        console_router,
    ):
        app.include_router(module.router)

    _install_error_handlers(app)
    _document_errors(app)
    app.add_middleware(
        ArrivalMiddleware,
        clock=clock,
        max_body_bytes=settings.max_body_bytes,
        # An action report carries the police's photos and video: several files of media.
        upload_max_bytes=4 * settings.tipline_max_media_bytes,
    )
    return app


_VALIDATION_ERROR = "#/components/schemas/ValidationError"


def _document_errors(app: FastAPI) -> None:
    """A 422 carries either FastAPI's list of field errors or one sentence naming the problem
    (a rule that spans fields, such as "role station needs a unit"); say so in the schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            errors = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in errors:
                errors["HTTPValidationError"]["properties"]["detail"] = {
                    "title": "Detail",
                    "anyOf": [
                        {"type": "array", "items": {"$ref": _VALIDATION_ERROR}},
                        {"type": "string"},
                    ],
                }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail: list[dict[str, Any]] = []
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
            field = ".".join(loc) or "body"
            # FastAPI's documented shape (loc, msg, type) plus a readable field and message.
            detail.append(
                {
                    "loc": [p if isinstance(p, int) else str(p) for p in error.get("loc", ())],
                    "msg": str(error.get("msg")),
                    "type": error.get("type"),
                    "field": field,
                    "message": f"{field}: {error.get('msg')}",
                }
            )
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else "error")
        return JSONResponse(
            status_code=503,
            content={"detail": "database unavailable; retry shortly"},
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(sa_exc.TimeoutError)
    async def database_busy(_request: Request, exc: sa_exc.TimeoutError) -> JSONResponse:
        log.error("no database connection free within the pool timeout")
        return JSONResponse(
            status_code=503,
            content={"detail": "the service is overloaded; retry shortly"},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return JSONResponse(
                status_code=503,
                content={"detail": "database connection lost; retry shortly"},
                headers={"Retry-After": "2"},
            )
        raise exc

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
        )
