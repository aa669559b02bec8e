"""webhook subscriptions and deliveries; outbox events fan out to matching subscriptions in
the transaction that writes them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:50:37.218676
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('event_types', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_by_key', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('subscription_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint('NOT (delivered_at IS NOT NULL AND parked_at IS NOT NULL)', name=op.f('ck_webhook_deliveries_settled_once')),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'event_id', name=op.f('uq_webhook_deliveries_subscription_id'))
    )
    op.create_index('ix_webhook_deliveries_pending', 'webhook_deliveries', ['id'], unique=False, postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    # Set-based fan-out: one statement per outbox insert, whatever wrote it. An ISP's
    # subscription only matches events about that ISP.
    op.execute("""
        CREATE FUNCTION fan_out_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO webhook_deliveries (subscription_id, event_id, topic, payload, event_time)
          SELECT s.id, e.id, e.topic, e.payload, e.created_at
          FROM inserted e JOIN webhook_subscriptions s
            ON (cardinality(s.event_types) = 0 OR e.topic = ANY(s.event_types))
           AND (s.isp_id IS NULL OR s.isp_id = e.payload ->> 'isp')
          ON CONFLICT DO NOTHING;
          RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION fan_out_webhooks()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_fan_out ON outbox")
    op.execute("DROP FUNCTION fan_out_webhooks()")
    op.drop_index('ix_webhook_deliveries_pending', table_name='webhook_deliveries', postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
