"""open access: ISP orders, address search indexes, and row-level security that keeps each
ISP to its own rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:16:29.087463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('isp_orders',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=False),
    sa.Column('order_ref', sa.Text(), nullable=False),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=True),
    sa.Column('product', sa.Text(), nullable=True),
    sa.Column('subscriber', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('refusal', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('work_order_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('ordered', 'work_order', 'refused')", name=op.f('ck_isp_orders_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_orders')),
    )
    op.create_index('uq_isp_orders_ref', 'isp_orders', ['isp_id', 'order_ref'], unique=True,
                    postgresql_where=sa.text("outcome <> 'refused'"))
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
    op.drop_table('isp_orders')


ISP_TABLES = {  # table -> the condition that makes a row the current ISP's
    "services": "isp_id = current_setting('fibersync.isp', true)",
    "service_events": "isp_id = current_setting('fibersync.isp', true)",
    "isp_orders": "isp_id = current_setting('fibersync.isp', true)",
    "webhook_subscriptions": "isp_id = current_setting('fibersync.isp', true)",
    "webhook_deliveries": "subscription_id IN (SELECT id FROM webhook_subscriptions "
                          "WHERE isp_id = current_setting('fibersync.isp', true))",
}

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # unaccent() is only STABLE; an index needs an IMMUTABLE wrapper naming its dictionary.
    """CREATE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
       STRICT AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    "CREATE INDEX ix_addresses_street_prefix ON addresses "
    "(lower(f_unaccent(street_name)) text_pattern_ops)",
    "CREATE INDEX ix_addresses_name_prefix ON addresses "
    "(lower(f_unaccent(name)) text_pattern_ops)",
    "CREATE INDEX ix_addresses_postcode ON addresses (upper(replace(postcode, ' ', '')))",
    "CREATE INDEX ix_addresses_geography ON addresses USING gist ((location::geography))",
    # Whether a line is taken, for everyone, without saying by whom (the view runs as its
    # owner, so it sees past the row-level security below).
    """CREATE VIEW address_lines AS
       SELECT address_feature_id, bool_or(status = 'active') AS active FROM services
       WHERE status IN ('ordered', 'active', 'suspended') GROUP BY address_feature_id""",
    # ISP requests run as this role, with fibersync.isp set for the transaction.
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fibersync_isp') THEN
           CREATE ROLE fibersync_isp NOLOGIN;
         END IF;
       END $$""",
    "GRANT USAGE ON SCHEMA public TO fibersync_isp",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fibersync_isp",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO fibersync_isp",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
    "ON TABLES TO fibersync_isp",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
    "TO fibersync_isp",
    # Webhook fan-out must see every subscription, whoever wrote the event.
    "ALTER FUNCTION fan_out_webhooks() SECURITY DEFINER",
    *(statement for table, condition in ISP_TABLES.items() for statement in (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY isp_rows ON {table} TO fibersync_isp "
        f"USING ({condition}) WITH CHECK ({condition})",
        f"CREATE POLICY everyone_else ON {table} TO PUBLIC USING "
        f"(current_user <> 'fibersync_isp')")),
]

DOWNGRADE = [
    *(statement for table in ISP_TABLES for statement in (
        f"DROP POLICY everyone_else ON {table}", f"DROP POLICY isp_rows ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")),
    "ALTER FUNCTION fan_out_webhooks() SECURITY INVOKER",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM fibersync_isp",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM fibersync_isp",
    "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM fibersync_isp",
    "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM fibersync_isp",
    "REVOKE USAGE ON SCHEMA public FROM fibersync_isp",
    "DROP VIEW address_lines",
    "DROP INDEX ix_addresses_geography",
    "DROP INDEX ix_addresses_postcode",
    "DROP INDEX ix_addresses_name_prefix",
    "DROP INDEX ix_addresses_street_prefix",
    "DROP FUNCTION f_unaccent(text)",
]
