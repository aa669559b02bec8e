"""Test fixtures: one PostGIS database per run (cloned from a migrated template), a rolled
back transaction per test, and the IQGeo simulator served over real HTTP in a thread."""

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from alembic import command
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.auth import create_api_key
from api.deps import get_reads, get_session
from api.settings import ApiSettings
from fixtures.iqgeo_sim import Simulator, build_simulator
from gis.database import ensure_database, libpq_url, sqlalchemy_url
from gis.scoping import enter_isp_scope, leave_isp_scope
from gis.settings import DEFAULT_DATABASE_URL
from gis.status import Role
from migrations import HERE as MIGRATIONS
from migrations import alembic_config
from sync.iqgeo import IQGeoSettings

# Everything but the seeded work order templates, which tests never commit changes to.
MUTABLE_TABLES = ("circuits", "addresses", "quarantined_features", "sync_runs",
                  "status_transitions", "api_keys", "areas", "work_orders",
                  "work_order_tasks", "outbox", "services", "service_events",
                  "webhook_subscriptions", "webhook_deliveries", "task_evidence",
                  "work_order_changes", "installation_records", "idempotent_requests",
                  "isp_orders", "contracts", "commercial_events",
                  "assurance_exceptions", "settlement_reports")


def _url_for(database: str) -> str:
    base = make_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    return base.set(database=database).render_as_string(hide_password=False)


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(_url_for("postgres")), autocommit=True)


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this run, cloned from a template migrated to head."""
    template = f"fibersync_tmpl_{_migrations_hash()}"
    with _admin() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               [template]).fetchone()
    if not exists:
        building = _url_for(template + "_building")
        with _admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(
                sql.Identifier(template + "_building")))
        ensure_database(building)
        command.upgrade(alembic_config(building), "head")
        with _admin() as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(template + "_building"), sql.Identifier(template)))
    name = f"fibersync_test_{os.getpid()}"
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    yield _url_for(name)
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sqlalchemy_url(database_url), pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        yield session
        session.close()
        outer.rollback()


@pytest.fixture
def committed(engine: Engine) -> Iterator[None]:
    """For tests whose writes must be seen by other connections: empty the tables after."""
    yield
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, never hang, on a leak
        conn.execute(text(f"TRUNCATE {', '.join(MUTABLE_TABLES)} RESTART IDENTITY CASCADE"))


# -- the IQGeo simulator -----------------------------------------------------------------
class _Swappable:
    """One server for the whole run; each test plugs in its own simulator app."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.target(scope, receive, send)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def sim_server() -> Iterator[tuple[_Swappable, str]]:
    holder = _Swappable()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(holder, host="127.0.0.1", port=port,
                                           log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield holder, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


SimFactory = Callable[..., tuple[Simulator, IQGeoSettings]]


@pytest.fixture
def make_sim(sim_server: tuple[_Swappable, str]) -> SimFactory:
    """Serve a fresh simulator (keyword arguments of build_simulator); returns it and the
    IQGeo settings that reach it (fast retries, so fault tests take no time)."""
    holder, url = sim_server

    def make(**options: Any) -> tuple[Simulator, IQGeoSettings]:
        page_size = options.pop("page_size", 50)
        app = build_simulator(**options)
        holder.target = app
        settings = IQGeoSettings(url=url, page_size=page_size,
                                 backoff_base=0.01, backoff_cap=0.05, read_timeout=5,
                                 max_attempts=5)
        return app.state.sim, settings

    return make


@pytest.fixture
def sim(make_sim: SimFactory) -> tuple[Simulator, IQGeoSettings]:
    return make_sim(addresses=120)


# -- the API -----------------------------------------------------------------------------
@pytest.fixture
def api_settings(database_url: str, tmp_path: Path) -> ApiSettings:
    # No tile or key cache: tests change data in transactions that never commit (and never
    # notify).
    return ApiSettings(database_url=database_url, max_body_bytes=64 * 1024,
                       evidence_dir=tmp_path / "evidence", tile_cache_bytes=0,
                       principal_cache_keys=0)


class SessionReads:
    """gis.reads.Reads inside the test's session, so reads see its uncommitted rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def fetch_row(self, sql: str, params: dict[str, Any],
                        isp: str | None = None) -> tuple[Any, ...] | None:
        if isp is not None:
            enter_isp_scope(self.session, isp)
        try:
            driver = self.session.connection().connection.driver_connection
            return driver.execute(sql, params).fetchone()  # type: ignore[no-any-return]
        finally:
            if isp is not None:
                leave_isp_scope(self.session)


@pytest.fixture
def client(api_settings: ApiSettings, engine: Engine, db_session: Session,
           sim: tuple[Simulator, IQGeoSettings]) -> Iterator[TestClient]:
    app = create_app(api_settings, sim[1], engine=engine)

    def session_override() -> Iterator[Session]:
        try:
            yield db_session
            db_session.flush()
        finally:
            leave_isp_scope(db_session)  # a request's transaction would have ended here

    app.dependency_overrides[get_session] = session_override
    app.dependency_overrides[get_reads] = lambda: SessionReads(db_session)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def live_server(api_settings: ApiSettings, engine: Engine) -> Iterator[str]:
    """The app on a real port (for a browser or GDAL); use with `committed` data."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(api_settings, engine=engine),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def keys(db_session: Session) -> dict[str, dict[str, str]]:
    """An Authorization header per role."""
    bindings = {Role.isp: ("isp-1", None), Role.technician: (None, "crew-1")}
    headers = {}
    for role in Role:
        isp, crew = bindings.get(role, (None, None))
        plain, _ = create_api_key(db_session, role, f"test {role.value}", isp, crew)
        headers[role.value] = {"Authorization": f"Bearer {plain}"}
    return headers


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
