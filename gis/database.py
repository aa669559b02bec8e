"""Engines, and creating the database with PostGIS when it is missing."""

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def make_engine(database_url: str, pool_size: int = 10) -> Engine:
    # No JIT: compiling a plan costs more than running the API's short queries (a z14 tile
    # spent 14 of its 40 ms compiling).
    return create_engine(
        sqlalchemy_url(database_url), pool_size=pool_size, pool_pre_ping=True,
        connect_args={"options": "-c jit=off"},
    )


def sqlalchemy_url(database_url: str) -> str:
    """Accept plain `postgresql://` URLs too and pin the psycopg 3 driver."""
    url = make_url(database_url)
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(database_url: str) -> str:
    """The same URL for psycopg (and psql), without SQLAlchemy's driver suffix."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(database_url: str) -> None:
    """Create the database and the postgis extension if they do not exist yet."""
    url = make_url(database_url)
    name = url.database or "fibersync"
    admin = libpq_url(url.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
