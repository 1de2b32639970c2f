"""Build the ASGI application from settings: services, routers, error handling."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from annotask import __version__
from annotask.api.errors import install_error_handlers
from annotask.api.limits import BodySizeLimit, QueryTextCheck
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
    for router in ROUTERS:
        app.include_router(router)
    mount_web(app)
    app.add_middleware(QueryTextCheck)
    app.add_middleware(BodySizeLimit, limit=services.settings.max_request_body_bytes)
    return app
