"""The FastAPI application, built from settings (never at import time)."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from api.limits import BodySizeLimit
from api.metrics import Metrics, MetricsMiddleware
from api.notified_cache import PrincipalCache, TileCache
from api.problems import install_problem_handlers
from api.ratelimit import RateLimiter
from api.routers import (
    addresses,
    areas,
    assurance,
    events,
    health,
    hub,
    isp,
    meta,
    ogc,
    pages,
    sync_runs,
    tasks,
    templates,
    tiles,
    work_orders,
)
from api.settings import ApiSettings
from gis.database import make_engine
from gis.reads import PooledReads
from sync.iqgeo import IQGeoSettings
from workorders.photos import LocalEvidenceStore, S3EvidenceStore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    caches = [c for c in (app.state.tile_cache, app.state.principal_cache) if c]
    for cache in caches:
        cache.start()
    await app.state.reads.open()
    # Everything built so far lives as long as the process: keep it out of the cycle
    # collector's full passes, which otherwise stall every request in flight.
    gc.freeze()
    yield
    await app.state.reads.close()
    for cache in caches:
        cache.stop()


def create_app(settings: ApiSettings, iqgeo_settings: IQGeoSettings | None = None,
               engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="FiberSync",
        version="0.1.0",
        description="Address hub for FTTH operators, synced with IQGeo Network Manager.",
        openapi_url=None,  # served by meta.openapi, behind a key
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.iqgeo_settings = iqgeo_settings or IQGeoSettings()
    app.state.engine = engine or make_engine(settings.database_url, settings.pool_size)
    app.state.session_factory = sessionmaker(app.state.engine, expire_on_commit=False)
    app.state.metrics = Metrics()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second,
                                         settings.rate_limit_burst)
    app.state.tile_cache = (TileCache(settings.database_url, settings.tile_cache_bytes)
                            if settings.tile_cache_bytes else None)
    app.state.reads = PooledReads(settings.database_url, settings.pool_size)
    app.state.principal_cache = (
        PrincipalCache(settings.database_url, settings.principal_cache_keys)
        if settings.principal_cache_keys else None)
    app.state.evidence_store = (
        S3EvidenceStore(settings.evidence_s3_bucket, settings.evidence_s3_endpoint)
        if settings.evidence_s3_bucket else LocalEvidenceStore(settings.evidence_dir))

    install_problem_handlers(app)
    # Routes are matched in order (6% of a search's time went to matching): the busiest,
    # for ISPs, GIS tools and the map, come first.
    for router in (isp.router, ogc.router, tiles.router, health.router, meta.router,
                   sync_runs.router, addresses.router, areas.router, templates.router,
                   work_orders.router, events.router, hub.router, tasks.router, pages.router,
                   assurance.router):
        app.include_router(router)
    # Uploads may be larger than JSON bodies; their exact limit is checked in the route.
    upload_limit = max(settings.max_body_bytes, settings.max_upload_bytes + 64 * 1024)
    photo_limit = max(settings.max_body_bytes, settings.max_photo_bytes + 64 * 1024)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, path_limits={
        r"/areas/uploads": upload_limit,
        r"/work-orders/\d+/tasks/\d+/photos": photo_limit})
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory api.app:app_from_environment` (several worker processes)."""
    return create_app(ApiSettings())
