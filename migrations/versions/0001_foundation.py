"""foundation: addresses, circuits, sync runs, keys

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 07:42:07.634820
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('addresses',
    sa.Column('feature_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('street_number', sa.Text(), nullable=True),
    sa.Column('street_name', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('building', sa.Text(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('gis_attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('circuit_id', sa.BigInteger(), nullable=True),
    sa.Column('circuit_name', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default='planned', nullable=False),
    sa.Column('content_hash', sa.BigInteger(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retired', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('planned', 'surveyed', 'in_deployment', 'ready_for_service', 'connected', 'retired')", name=op.f('ck_addresses_status')),
    sa.PrimaryKeyConstraint('feature_id', name=op.f('pk_addresses')),
    postgresql_with={'fillfactor': 85},
    )
    op.create_geospatial_index('idx_addresses_location', 'addresses', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('key_prefix', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('isp_id', sa.Text(), nullable=True),
    sa.Column('crew_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role <> 'isp' OR isp_id IS NOT NULL", name=op.f('ck_api_keys_isp_bound')),
    sa.CheckConstraint("role <> 'technician' OR crew_id IS NOT NULL", name=op.f('ck_api_keys_crew_bound')),
    sa.CheckConstraint("role IN ('admin', 'planner', 'bss', 'isp', 'technician')", name=op.f('ck_api_keys_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('circuits',
    sa.Column('feature_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('address_ref', sa.Text(), nullable=True),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('content_hash', sa.BigInteger(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retired', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('feature_id', name=op.f('pk_circuits'))
    )
    op.create_index(op.f('ix_circuits_address_feature_id'), 'circuits', ['address_feature_id'], unique=False)
    op.create_table('status_transitions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('entity_type', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.Text(), nullable=False),
    sa.Column('from_status', sa.Text(), nullable=True),
    sa.Column('to_status', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_transitions'))
    )
    op.create_index('ix_status_transitions_entity', 'status_transitions', ['entity_type', 'entity_id'], unique=False)
    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('full_rewrite', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('phase', sa.Text(), server_default='starting', nullable=False),
    sa.Column('started_by', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_estimate', sa.Integer(), nullable=True),
    sa.Column('pages_read', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('features_read', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('inserted', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('unchanged', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('retired', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('rejected', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('circuits_read', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('circuits_linked', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('circuits_unlinked', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('circuits_orphaned', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('running', 'succeeded', 'failed', 'interrupted')", name=op.f('ck_sync_runs_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_index('uq_sync_runs_one_running', 'sync_runs', [sa.literal_column('(true)')], unique=True, postgresql_where=sa.text("state = 'running'"))
    # The address <-> circuit link, derived from each circuit's IQGeo address reference.
    op.execute("""
        CREATE VIEW address_circuits AS
        SELECT c.address_feature_id, c.feature_id AS circuit_feature_id
        FROM circuits c JOIN addresses a ON a.feature_id = c.address_feature_id
        WHERE NOT c.retired AND NOT a.retired
    """)
    op.create_table('quarantined_features',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger(), nullable=False),
    sa.Column('feature_type', sa.Text(), nullable=False),
    sa.Column('feature_id', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('quarantined_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_quarantined_features_sync_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_features'))
    )
    op.create_index(op.f('ix_quarantined_features_feature_id'), 'quarantined_features', ['feature_id'], unique=False)
    op.create_index(op.f('ix_quarantined_features_sync_run_id'), 'quarantined_features', ['sync_run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantined_features_sync_run_id'), table_name='quarantined_features')
    op.drop_index(op.f('ix_quarantined_features_feature_id'), table_name='quarantined_features')
    op.drop_table('quarantined_features')
    op.execute("DROP VIEW address_circuits")
    op.drop_index('uq_sync_runs_one_running', table_name='sync_runs', postgresql_where=sa.text("state = 'running'"))
    op.drop_table('sync_runs')
    op.drop_index('ix_status_transitions_entity', table_name='status_transitions')
    op.drop_table('status_transitions')
    op.drop_index(op.f('ix_circuits_address_feature_id'), table_name='circuits')
    op.drop_table('circuits')
    op.drop_table('api_keys')
    op.drop_geospatial_index('idx_addresses_location', table_name='addresses', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('addresses')
