"""circuits: the index by address holds the feature id too, in order, so "an address's
lowest-numbered live circuit" is its first entry, and the planner picks it without
statistics (it walked the primary key for every address instead: minutes for a million)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(columns: str) -> None:
    # A first load that died may have dropped it already, recording it for a rebuild: it is
    # built here instead.
    op.execute("DROP INDEX IF EXISTS ix_circuits_address_feature_id")
    op.execute(f"CREATE INDEX ix_circuits_address_feature_id ON circuits ({columns})")
    op.execute("DELETE FROM deferred_indexes WHERE index_name = 'ix_circuits_address_feature_id'")


def upgrade() -> None:
    _recreate("address_feature_id, feature_id")


def downgrade() -> None:
    _recreate("address_feature_id")
