"""import: secondary indexes dropped during a first load, kept until rebuilt; radius
searches use the point's GiST index, so the second GiST index (on geography) goes; a
NOTIFY on every change to API keys, for the API's cache of callers

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deferred_indexes',
    sa.Column('index_name', sa.Text(), nullable=False),
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('index_name', name=op.f('pk_deferred_indexes')),
    )
    op.execute("DROP INDEX IF EXISTS ix_addresses_geography")
    op.execute("""CREATE FUNCTION notify_keys_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('fibersync_keys', ''); RETURN NULL; END $$""")
    # A new key needs no notice: only keys found valid are cached.
    op.execute("CREATE TRIGGER api_keys_change AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys "
               "FOR EACH STATEMENT EXECUTE FUNCTION notify_keys_change()")


def downgrade() -> None:
    op.execute("DROP TRIGGER api_keys_change ON api_keys")
    op.execute("DROP FUNCTION notify_keys_change()")
    # Indexes still deferred are built again before their record goes.
    op.execute("DO $$ DECLARE d text; BEGIN "
               "FOR d IN SELECT definition FROM deferred_indexes LOOP EXECUTE d; END LOOP; END $$")
    op.drop_table('deferred_indexes')
    op.execute("CREATE INDEX ix_addresses_geography ON addresses USING gist "
               "((location::geography))")
