"""services, service events, outbox leases, and a NOTIFY that wakes the worker

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:22:02.735427
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('service_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Text(), nullable=True),
    sa.Column('event_type', sa.Text(), nullable=True),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=True),
    sa.Column('isp_id', sa.Text(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('applied', 'rejected', 'invalid')", name=op.f('ck_service_events_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_service_events_event_id'))
    )
    op.create_index('ix_service_events_service', 'service_events', ['address_feature_id', 'isp_id', 'event_time'], unique=False)
    op.create_table('services',
    sa.Column('address_feature_id', sa.BigInteger(), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('subscriber', sa.Text(), nullable=True),
    sa.Column('product', sa.Text(), nullable=True),
    sa.Column('speed_profile', sa.Text(), nullable=True),
    sa.Column('ont_serial', sa.Text(), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('ordered', 'active', 'suspended', 'ceased')", name=op.f('ck_services_status')),
    sa.ForeignKeyConstraint(['address_feature_id'], ['addresses.feature_id'], name=op.f('fk_services_address_feature_id_addresses')),
    sa.PrimaryKeyConstraint('address_feature_id', 'isp_id', name=op.f('pk_services'))
    )
    op.add_column('outbox', sa.Column('claimed_by', sa.Text(), nullable=True))
    op.add_column('outbox', sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_pending_key', 'outbox', ['key', 'id'], unique=False, postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    # One notification per inserting statement, sent at commit: workers wake at once.
    op.execute("""
        CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('fibersync_outbox', ''); RETURN NULL; END $$
    """)
    op.execute("""
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION notify_outbox()")
    op.drop_index('ix_outbox_pending_key', table_name='outbox', postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    op.drop_column('outbox', 'claimed_until')
    op.drop_column('outbox', 'claimed_by')
    op.drop_table('services')
    op.drop_index('ix_service_events_service', table_name='service_events')
    op.drop_table('service_events')
