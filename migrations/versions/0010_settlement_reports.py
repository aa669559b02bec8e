"""settlement reports: what each ISP says it owes for a month, kept to that ISP

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 14:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISP_CONDITION = "isp_id = current_setting('fibersync.isp', true)"


def upgrade() -> None:
    op.create_table('settlement_reports',
    sa.Column('isp_id', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reported_by', sa.Text(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('isp_id', 'period', name=op.f('pk_settlement_reports')),
    )
    op.execute("ALTER TABLE settlement_reports ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY isp_rows ON settlement_reports TO fibersync_isp "
               f"USING ({ISP_CONDITION}) WITH CHECK ({ISP_CONDITION})")
    op.execute("CREATE POLICY everyone_else ON settlement_reports TO PUBLIC USING "
               "(current_user <> 'fibersync_isp')")


def downgrade() -> None:
    op.execute("DROP POLICY everyone_else ON settlement_reports")
    op.execute("DROP POLICY isp_rows ON settlement_reports")
    op.drop_table('settlement_reports')
