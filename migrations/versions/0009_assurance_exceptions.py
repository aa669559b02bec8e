"""assurance exceptions, kept to their own ISP by row-level security

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 14:03:28.108420
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISP_CONDITION = "isp_id = current_setting('fibersync.isp', true)"


def upgrade() -> None:
    op.create_table('assurance_exceptions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=False),
    sa.Column('contract_ref', sa.Text(), nullable=True),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Text(), nullable=True),
    sa.Column('resolution_code', sa.Text(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.CheckConstraint("severity IN ('red', 'amber')", name=op.f('ck_assurance_exceptions_severity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assurance_exceptions'))
    )
    op.create_index('ix_assurance_exceptions_service', 'assurance_exceptions', ['address_feature_id', 'isp_id'], unique=False)
    op.create_index('uq_assurance_exceptions_open', 'assurance_exceptions', ['kind', 'address_feature_id', 'isp_id'], unique=True, postgresql_where=sa.text('resolved_at IS NULL'))
    op.create_index('ix_addresses_ont_serial', 'addresses', ['ont_serial'], unique=False, postgresql_where=sa.text('ont_serial IS NOT NULL'))
    op.create_index('ix_services_ont_serial', 'services', ['ont_serial'], unique=False, postgresql_where=sa.text('ont_serial IS NOT NULL'))
    op.execute("ALTER TABLE assurance_exceptions ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY isp_rows ON assurance_exceptions TO fibersync_isp "
               f"USING ({ISP_CONDITION}) WITH CHECK ({ISP_CONDITION})")
    op.execute("CREATE POLICY everyone_else ON assurance_exceptions TO PUBLIC USING "
               "(current_user <> 'fibersync_isp')")


def downgrade() -> None:
    op.execute("DROP POLICY everyone_else ON assurance_exceptions")
    op.execute("DROP POLICY isp_rows ON assurance_exceptions")
    op.drop_index('ix_services_ont_serial', table_name='services')
    op.drop_index('ix_addresses_ont_serial', table_name='addresses')
    op.drop_index('uq_assurance_exceptions_open', table_name='assurance_exceptions', postgresql_where=sa.text('resolved_at IS NULL'))
    op.drop_index('ix_assurance_exceptions_service', table_name='assurance_exceptions')
    op.drop_table('assurance_exceptions')
