"""areas, work order templates (with two FTTH templates and a connection template), work
orders and tasks, the outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:01:43.415328
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table('areas',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='planned', nullable=False),
    sa.Column('geometry', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source_crs', sa.Text(), server_default='EPSG:4326', nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'surveyed', 'in_deployment', 'built')", name=op.f('ck_areas_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas'))
    )
    op.create_geospatial_index('idx_areas_geometry', 'areas', ['geometry'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index('ix_outbox_pending', 'outbox', ['id'], unique=False, postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    op.create_table('work_order_templates',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('priority', sa.Integer(), server_default=sa.text('100'), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('is_current', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("purpose IN ('deployment', 'connection')", name=op.f('ck_work_order_templates_purpose')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_templates')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_work_order_templates_key'))
    )
    op.create_index('uq_work_order_templates_current_key', 'work_order_templates', ['key'], unique=True, postgresql_where=sa.text('is_current'))
    op.create_index('uq_work_order_templates_default', 'work_order_templates', ['purpose'], unique=True, postgresql_where=sa.text('is_current AND is_default AND archived_at IS NULL'))
    op.create_table('work_order_template_tasks',
    sa.Column('template_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('assignee_type', sa.Text(), nullable=False),
    sa.Column('assignee_id', sa.Text(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.CheckConstraint("assignee_type IN ('crew', 'contractor')", name=op.f('ck_work_order_template_tasks_assignee_type')),
    sa.CheckConstraint("kind IN ('drop_install', 'ont_mount', 'light_level_test', 'speed_test', 'photo_documentation', 'sign_off', 'custom')", name=op.f('ck_work_order_template_tasks_kind')),
    sa.ForeignKeyConstraint(['template_id'], ['work_order_templates.id'], name=op.f('fk_work_order_template_tasks_template_id_work_order_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'position', name=op.f('pk_work_order_template_tasks'))
    )
    op.create_table('work_orders',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=False),
    sa.Column('area_id', sa.BigInteger(), nullable=True),
    sa.Column('template_id', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('rework_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('deployment', 'connection')", name=op.f('ck_work_orders_purpose')),
    sa.CheckConstraint("status IN ('open', 'scheduled', 'in_progress', 'completed', 'cancelled')", name=op.f('ck_work_orders_status')),
    sa.ForeignKeyConstraint(['address_feature_id'], ['addresses.feature_id'], name=op.f('fk_work_orders_address_feature_id_addresses')),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_work_orders_area_id_areas')),
    sa.ForeignKeyConstraint(['template_id'], ['work_order_templates.id'], name=op.f('fk_work_orders_template_id_work_order_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders'))
    )
    op.create_index(op.f('ix_work_orders_area_id'), 'work_orders', ['area_id'], unique=False)
    op.create_index('uq_work_orders_open_address', 'work_orders', ['address_feature_id'], unique=True, postgresql_where=sa.text("status IN ('open', 'scheduled', 'in_progress')"))
    op.create_table('work_order_tasks',
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('assignee_type', sa.Text(), nullable=False),
    sa.Column('assignee_id', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'completed')", name=op.f('ck_work_order_tasks_status')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_tasks_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_order_id', 'position', name=op.f('pk_work_order_tasks'))
    )
    _seed_templates()


def downgrade() -> None:
    op.drop_table('work_order_tasks')
    op.drop_index('uq_work_orders_open_address', table_name='work_orders', postgresql_where=sa.text("status IN ('open', 'scheduled', 'in_progress')"))
    op.drop_index(op.f('ix_work_orders_area_id'), table_name='work_orders')
    op.drop_table('work_orders')
    op.drop_table('work_order_template_tasks')
    op.drop_index('uq_work_order_templates_default', table_name='work_order_templates', postgresql_where=sa.text('is_current AND is_default AND archived_at IS NULL'))
    op.drop_index('uq_work_order_templates_current_key', table_name='work_order_templates', postgresql_where=sa.text('is_current'))
    op.drop_table('work_order_templates')
    op.drop_index('ix_outbox_pending', table_name='outbox', postgresql_where=sa.text('delivered_at IS NULL AND parked_at IS NULL'))
    op.drop_table('outbox')
    op.drop_geospatial_index('idx_areas_geometry', table_name='areas', postgresql_using='gist', column_name='geometry')
    op.drop_geospatial_table('areas')


# -- seed data: realistic FTTH templates (crew-1 is the operator's crew, contractor-1 a partner)
CREW = {"type": "crew", "id": "crew-1"}
CONTRACTOR = {"type": "contractor", "id": "contractor-1"}
PHOTO = {"kind": "photo", "min_count": 1}
LIGHT = {"kind": "measurement", "quantity": "received_power_dbm", "unit": "dBm",
         "min": -28, "max": -8}
SPLICE = {"kind": "measurement", "quantity": "splice_loss_db", "unit": "dB", "max": 0.3}
SPEED = [{"kind": "measurement", "quantity": "download_ratio_of_plan", "unit": "ratio",
          "min": 0.9},
         {"kind": "measurement", "quantity": "upload_ratio_of_plan", "unit": "ratio",
          "min": 0.9}]
SEEDS = [
    {"key": "ftth-sdu", "name": "FTTH single dwelling unit", "purpose": "deployment",
     "priority": 100, "is_default": True, "rule": None,
     "description": "House connection: drop from the distribution point to an ONT inside.",
     "tasks": [
         ("custom", "Survey the drop route and agree the entry point", CREW, [PHOTO]),
         ("drop_install", "Install the drop cable (aerial or underground)", CREW, [PHOTO]),
         ("custom", "Splice the drop at the distribution point", CREW, [SPLICE]),
         ("ont_mount", "Mount the fibre wall box and the ONT", CONTRACTOR,
          [{"kind": "serial_number"}]),
         ("light_level_test", "Measure the received optical power at the ONT", CONTRACTOR,
          [LIGHT]),
         ("speed_test", "Speed test against the ordered plan", CONTRACTOR, SPEED),
         ("photo_documentation", "Photograph the drop, wall box and ONT", CONTRACTOR,
          [{"kind": "photo", "min_count": 3}]),
         ("sign_off", "Customer and supervisor sign-off", CREW, [{"kind": "signature"}]),
     ]},
    {"key": "ftth-mdu", "name": "FTTH multi-dwelling unit", "purpose": "deployment",
     "priority": 10, "is_default": False,
     "rule": {"all": [{"attribute": "building", "op": "present", "value": None}]},
     "description": "Flat in a block: riser and floor box shared, drop per flat.",
     "tasks": [
         ("custom", "Agree access and cable routes with the building owner", CREW, []),
         ("custom", "Install the riser cable and the floor distribution box", CREW, [PHOTO]),
         ("drop_install", "Install the in-building drop to the flat", CONTRACTOR, [PHOTO]),
         ("custom", "Splice the drop in the floor distribution box", CONTRACTOR, [SPLICE]),
         ("ont_mount", "Mount the ONT in the flat", CONTRACTOR, [{"kind": "serial_number"}]),
         ("light_level_test", "Measure the received optical power at the ONT", CONTRACTOR,
          [LIGHT]),
         ("speed_test", "Speed test against the ordered plan", CONTRACTOR, SPEED),
         ("sign_off", "Customer and supervisor sign-off", CREW,
          [{"kind": "photo", "min_count": 2}, {"kind": "signature"}]),
     ]},
    {"key": "ftth-connection", "name": "FTTH connection at a built address",
     "purpose": "connection", "priority": 100, "is_default": True, "rule": None,
     "description": "A customer order where the drop is already in: ONT, tests, sign-off.",
     "tasks": [
         ("ont_mount", "Mount or replace the ONT", CONTRACTOR, [{"kind": "serial_number"}]),
         ("light_level_test", "Measure the received optical power at the ONT", CONTRACTOR,
          [LIGHT]),
         ("speed_test", "Speed test against the ordered plan", CONTRACTOR, SPEED),
         ("sign_off", "Customer sign-off", CONTRACTOR, [{"kind": "signature"}]),
     ]},
]


def _seed_templates() -> None:
    connection = op.get_bind()
    for seed in SEEDS:
        template_id = connection.execute(sa.text("""
            INSERT INTO work_order_templates
              (key, version, name, description, purpose, priority, is_default, rule, created_by)
            VALUES (:key, 1, :name, :description, :purpose, :priority, :is_default,
                    CAST(:rule AS jsonb), 'seed')
            RETURNING id"""), {**seed, "rule": json.dumps(seed["rule"]) if seed["rule"]
                               else None}).scalar_one()
        for position, (kind, name, assignee, evidence) in enumerate(seed["tasks"], 1):
            connection.execute(sa.text("""
                INSERT INTO work_order_template_tasks
                  (template_id, position, kind, name, assignee_type, assignee_id, evidence)
                VALUES (:template_id, :position, :kind, :name, :type, :id,
                        CAST(:evidence AS jsonb))"""),
                {"template_id": template_id, "position": position, "kind": kind,
                 "name": name, **assignee, "evidence": json.dumps(evidence)})
