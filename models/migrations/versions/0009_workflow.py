"""workflow: each ticket's nodes, approvals (and their approvers' tasks) and quotes; a ticket's
template; staff departments, tags and managed stores

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _s(n):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _at(nullable):
    return models.types.UTCDateTime(timezone=True), nullable


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', _s(40), nullable=False, server_default=''))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        for name in ('departments', 'tags', 'stores'):
            batch_op.add_column(sa.Column(name, sa.JSON(), nullable=False,
                                          server_default=sa.text("'[]'")))
    op.create_table(
        'workflow_node',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('key', _s(48), nullable=False),
        sa.Column('name', _s(24), nullable=False),
        sa.Column('kind', _s(12), nullable=False),
        sa.Column('stage', sa.Integer(), nullable=False),
        sa.Column('status', _s(10), nullable=False),
        sa.Column('owners', sa.JSON(), nullable=False),
        sa.Column('owner_rule', _s(80), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=False),
        sa.Column('approval_rule', _s(40), nullable=True),
        sa.Column('inserted_by', _s(128), nullable=True),
        sa.Column('started_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('done_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('done_by', _s(128), nullable=True),
        sa.Column('note', _s(500), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'key', name='uq_node_ticket_key'),
    )
    op.create_index('ix_node_ticket_stage', 'workflow_node', ['ticket_id', 'stage'])
    op.create_table(
        'quote',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('author', _s(128), nullable=False),
        sa.Column('text', _s(1000), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('basis', sa.JSON(), nullable=False),
        sa.Column('subtotal', _s(32), nullable=False),
        sa.Column('discount', _s(32), nullable=False),
        sa.Column('discount_label', _s(60), nullable=False),
        sa.Column('tax', _s(32), nullable=False),
        sa.Column('total', _s(32), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('reason', _s(500), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('answered_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'version', name='uq_quote_ticket_version'),
    )
    op.create_table(
        'approval',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('node_id', _ID, sa.ForeignKey('workflow_node.id'), nullable=True),
        sa.Column('quote_id', _ID, sa.ForeignKey('quote.id'), nullable=True),
        sa.Column('rule', _s(40), nullable=False),
        sa.Column('name', _s(40), nullable=False),
        sa.Column('path', _s(8), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('applicant', _s(128), nullable=False),
        sa.Column('summary', _s(500), nullable=False),
        sa.Column('amount', _s(32), nullable=True),
        sa.Column('sp_no', _s(64), nullable=True),
        sa.Column('submit_state', _s(12), nullable=False, server_default=''),
        sa.Column('reason', _s(500), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sp_no'),
    )
    op.create_index('ix_approval_ticket', 'approval', ['ticket_id', 'status'])
    op.create_table(
        'approval_task',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('approval_id', _ID, sa.ForeignKey('approval.id'), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('userid', _s(128), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('reason', _s(500), nullable=True),
        sa.Column('transferred_to', _s(128), nullable=True),
        sa.Column('reminded', sa.Integer(), nullable=False),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_approval_task_approval_id', 'approval_task', ['approval_id'])
    op.create_index('ix_approval_task_who', 'approval_task', ['userid', 'status'])


def downgrade() -> None:
    op.drop_index('ix_approval_task_who', 'approval_task')
    op.drop_index('ix_approval_task_approval_id', 'approval_task')
    op.drop_table('approval_task')
    op.drop_index('ix_approval_ticket', 'approval')
    op.drop_table('approval')
    op.drop_table('quote')
    op.drop_index('ix_node_ticket_stage', 'workflow_node')
    op.drop_table('workflow_node')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        for name in ('departments', 'tags', 'stores'):
            batch_op.drop_column(name)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('template')
