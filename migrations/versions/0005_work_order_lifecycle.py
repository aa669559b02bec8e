"""work order life cycle, evidence, installation records

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:58:23.250100
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotent_requests',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('api_key_id', sa.BigInteger(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('key', 'api_key_id', name=op.f('pk_idempotent_requests'))
    )
    op.create_table('installation_records',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('address_feature_id', sa.BigInteger(), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('record', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['address_feature_id'], ['addresses.feature_id'], name=op.f('fk_installation_records_address_feature_id_addresses')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_installation_records_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installation_records'))
    )
    op.create_index(op.f('ix_installation_records_address_feature_id'), 'installation_records', ['address_feature_id'], unique=False)
    op.create_table('work_order_changes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_changes_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_changes'))
    )
    op.create_index(op.f('ix_work_order_changes_work_order_id'), 'work_order_changes', ['work_order_id'], unique=False)
    op.create_table('task_evidence',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=True),
    sa.Column('content_type', sa.Text(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id', 'position'], ['work_order_tasks.work_order_id', 'work_order_tasks.position'], name=op.f('fk_task_evidence_work_order_id_work_order_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_evidence'))
    )
    op.create_index('ix_task_evidence_task', 'task_evidence', ['work_order_id', 'position'], unique=False)
    op.add_column('addresses', sa.Column('ont_serial', sa.Text(), nullable=True))
    op.add_column('work_order_tasks', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('work_order_tasks', sa.Column('skip_reason', sa.Text(), nullable=True))
    op.add_column('work_order_tasks', sa.Column('override_code', sa.Text(), nullable=True))
    op.add_column('work_order_tasks', sa.Column('override_note', sa.Text(), nullable=True))
    op.add_column('work_order_tasks', sa.Column('override_by', sa.Text(), nullable=True))
    op.add_column('work_order_template_tasks', sa.Column('skippable', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('work_order_templates', sa.Column('completes_to', sa.Text(), server_default='ready_for_service', nullable=False))
    op.add_column('work_orders', sa.Column('scheduled_start', sa.DateTime(timezone=True), nullable=True))
    op.add_column('work_orders', sa.Column('scheduled_end', sa.DateTime(timezone=True), nullable=True))
    op.add_column('work_orders', sa.Column('scheduled_crew', sa.Text(), nullable=True))
    op.add_column('work_orders', sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_work_order_tasks_status'), 'work_order_tasks', type_='check')
    op.execute("UPDATE work_order_tasks SET status = 'done' WHERE status = 'completed'")
    op.create_check_constraint(op.f('ck_work_order_tasks_status'), 'work_order_tasks',
                               "status IN ('open', 'in_progress', 'done', 'skipped')")
    op.create_check_constraint(op.f('ck_work_order_templates_completes_to'), 'work_order_templates',
                               "completes_to IN ('ready_for_service', 'connected')")
    op.execute("UPDATE work_order_templates SET completes_to = 'connected' "
               "WHERE purpose = 'connection'")
    # The route survey and the building owner's agreement may be skipped, with a reason.
    op.execute("""UPDATE work_order_template_tasks SET skippable = true
                  FROM work_order_templates t
                  WHERE t.id = template_id AND t.created_by = 'seed' AND position = 1
                    AND t.key IN ('ftth-sdu', 'ftth-mdu')""")
    # Installation records are written once and never changed, whatever route or tool.
    op.execute("""
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is immutable', TG_TABLE_NAME USING ERRCODE = '42501'; END $$
    """)
    op.execute("""
        CREATE TRIGGER installation_records_immutable
        BEFORE UPDATE OR DELETE ON installation_records
        FOR EACH ROW EXECUTE FUNCTION refuse_change()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER installation_records_immutable ON installation_records")
    op.execute("DROP FUNCTION refuse_change()")
    op.drop_constraint(op.f('ck_work_order_templates_completes_to'), 'work_order_templates',
                       type_='check')
    op.drop_constraint(op.f('ck_work_order_tasks_status'), 'work_order_tasks', type_='check')
    op.execute("UPDATE work_order_tasks SET status = 'completed' WHERE status = 'done'")
    op.execute("UPDATE work_order_tasks SET status = 'open' WHERE status <> 'completed'")
    op.create_check_constraint(op.f('ck_work_order_tasks_status'), 'work_order_tasks',
                               "status IN ('open', 'completed')")
    op.drop_column('work_orders', 'reopened_at')
    op.drop_column('work_orders', 'scheduled_crew')
    op.drop_column('work_orders', 'scheduled_end')
    op.drop_column('work_orders', 'scheduled_start')
    op.drop_column('work_order_templates', 'completes_to')
    op.drop_column('work_order_template_tasks', 'skippable')
    op.drop_column('work_order_tasks', 'override_by')
    op.drop_column('work_order_tasks', 'override_note')
    op.drop_column('work_order_tasks', 'override_code')
    op.drop_column('work_order_tasks', 'skip_reason')
    op.drop_column('work_order_tasks', 'started_at')
    op.drop_column('addresses', 'ont_serial')
    op.drop_index('ix_task_evidence_task', table_name='task_evidence')
    op.drop_table('task_evidence')
    op.drop_index(op.f('ix_work_order_changes_work_order_id'), table_name='work_order_changes')
    op.drop_table('work_order_changes')
    op.drop_index(op.f('ix_installation_records_address_feature_id'), table_name='installation_records')
    op.drop_table('installation_records')
    op.drop_table('idempotent_requests')
