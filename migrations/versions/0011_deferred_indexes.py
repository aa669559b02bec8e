"""import: secondary indexes dropped during a first load, kept until rebuilt; radius
searches use the point's GiST index, so the second GiST index (on geography) goes

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


def downgrade() -> None:
    # Indexes still deferred are built again before their record goes.
    op.execute("DO $$ DECLARE d text; BEGIN "
               "FOR d IN SELECT definition FROM deferred_indexes LOOP EXECUTE d; END LOOP; END $$")
    op.drop_table('deferred_indexes')
    op.execute("CREATE INDEX ix_addresses_geography ON addresses USING gist "
               "((location::geography))")
