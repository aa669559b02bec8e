"""Alembic environment: GeoAlchemy2's helpers keep spatial indexes and types right."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from gis.database import sqlalchemy_url
from gis.models import Base
from workorders import models as _workorder_models  # noqa: F401  registers their tables

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = sqlalchemy_url(config.get_main_option("sqlalchemy.url") or "")
        connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() if hasattr(connectable, "connect") else connectable as conn:
        context.configure(
            connection=conn,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
