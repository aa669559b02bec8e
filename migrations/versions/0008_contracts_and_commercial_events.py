"""contracts and commercial events, kept to their own ISP by row-level security

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 13:57:03.341723
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISP_TABLES = ("contracts", "commercial_events")
ISP_CONDITION = "isp_id = current_setting('fibersync.isp', true)"


def upgrade() -> None:
    op.create_table('commercial_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Text(), nullable=True),
    sa.Column('event_type', sa.Text(), nullable=True),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('isp_id', sa.Text(), nullable=True),
    sa.Column('contract_ref', sa.Text(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('applied', 'rejected', 'invalid')", name=op.f('ck_commercial_events_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commercial_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_commercial_events_event_id'))
    )
    op.create_index('ix_commercial_events_contract', 'commercial_events', ['isp_id', 'contract_ref', 'event_time'], unique=False)
    op.create_table('contracts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=False),
    sa.Column('contract_ref', sa.Text(), nullable=False),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=False),
    sa.Column('product', sa.Text(), nullable=True),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('anchor_day', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('promotion_price_minor', sa.BigInteger(), nullable=True),
    sa.Column('promotion_start', sa.Date(), nullable=True),
    sa.Column('promotion_end', sa.Date(), nullable=True),
    sa.Column('term_months', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('early_termination_fee_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('fee_per_remaining_month_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('billing_started_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('billing_stopped_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_contracts_status')),
    sa.ForeignKeyConstraint(['address_feature_id'], ['addresses.feature_id'], name=op.f('fk_contracts_address_feature_id_addresses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('isp_id', 'contract_ref', name='uq_contracts_ref')
    )
    op.create_index('ix_contracts_service', 'contracts', ['address_feature_id', 'isp_id'], unique=False)
    for table in ISP_TABLES:  # as in 0006: an ISP sees only its own rows
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY isp_rows ON {table} TO fibersync_isp "
                   f"USING ({ISP_CONDITION}) WITH CHECK ({ISP_CONDITION})")
        op.execute(f"CREATE POLICY everyone_else ON {table} TO PUBLIC USING "
                   f"(current_user <> 'fibersync_isp')")


def downgrade() -> None:
    for table in ISP_TABLES:
        op.execute(f"DROP POLICY everyone_else ON {table}")
        op.execute(f"DROP POLICY isp_rows ON {table}")
    op.drop_index('ix_contracts_service', table_name='contracts')
    op.drop_table('contracts')
    op.drop_index('ix_commercial_events_contract', table_name='commercial_events')
    op.drop_table('commercial_events')
