"""Migrations go up and down on a scratch database, and match the models."""

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from psycopg import sql
from sqlalchemy import create_engine, inspect

from gis.database import ensure_database, libpq_url, sqlalchemy_url
from gis.models import Base
from migrations import alembic_config
from tests.conftest import _url_for

TABLES = {"addresses", "circuits", "sync_runs", "quarantined_features", "status_transitions",
          "api_keys", "address_circuits"}


@pytest.fixture
def scratch_url():
    url = _url_for("fibersync_scratch_migrations")
    ensure_database(url)
    yield url
    with psycopg.connect(libpq_url(_url_for("postgres")), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier("fibersync_scratch_migrations")))


def tables(url):
    engine = create_engine(sqlalchemy_url(url))
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names() + inspector.get_view_names()) & TABLES
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert tables(scratch_url) == TABLES
    command.downgrade(config, "base")
    assert tables(scratch_url) == set()
    command.upgrade(config, "head")
    assert tables(scratch_url) == TABLES


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": alembic_helpers.include_object,
            "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_location_has_a_gist_index(engine):
    with engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'addresses'").scalars().all()
    assert any("USING gist (location)" in definition for definition in indexes)
