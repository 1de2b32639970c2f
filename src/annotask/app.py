"""Build the ASGI application from settings: services, routers, error handling."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from annotask import __version__
from annotask.api.connection import CloseUnreadBody
from annotask.api.errors import install_error_handlers
from annotask.api.fast_data import FastData
from annotask.api.limits import BodySizeLimit, QueryTextCheck
from annotask.api.openapi import install as install_openapi
from annotask.api.routers import ROUTERS
from annotask.gc_tuning import freeze_startup_objects
from annotask.services import Services
from annotask.settings import Settings
from annotask.web import mount_web


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The whole HTTP server; the caller applies migrations first (``annotask serve`` does)."""
    services = services or Services(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        freeze_startup_objects()
        # The threads for blocking request work (anyio's default limiter, per event
        # loop); the database pools are sized from the same setting.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = services.settings.web_threads
        yield
        services.close()

    app = FastAPI(
        title="annotask",
        version=__version__,
        description="Self-hosted data annotation with CVAT's REST API.",
        redirect_slashes=False,
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/schema/",
    )
    app.state.services = services
    install_error_handlers(app)
    install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    mount_web(app)
    app.add_middleware(QueryTextCheck)
    app.add_middleware(BodySizeLimit, limit=services.settings.max_request_body_bytes)
    # Outermost: it must see the responses BodySizeLimit sends on its own.
    app.add_middleware(CloseUnreadBody)
    # In front of everything: ready chunk reads skip the framework (api/fast_data.py).
    app.add_middleware(FastData, services=services)
    return app
