"""settlement: statements, the parties' answers, reviews, month statements, promotion freezes

Statements and month statements are insert-only (see models/settlement.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 23:34:04.760109
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promotion_freeze',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('frozen_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'value', name='uq_freeze_scope_value')
    )
    op.create_table('settlement_period',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('period_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('rules_book', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('statement_ids', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('settlement_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_period_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_period_period_id'), ['period_id'], unique=False)

    op.create_table('settlement_period_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('amount', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_key'], ['settlement_period.key'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_key', 'scope', 'subject', name='uq_period_line_subject')
    )
    op.create_table('settlement_statement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('statement_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('corrects', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('book_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('book_version', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('service_rule', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('technician', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('net', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tax', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('gross', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('technician_share', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('completed_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('frozen', sa.JSON(), nullable=True),
    sa.Column('ticket_input', sa.JSON(), nullable=False),
    sa.Column('statement', sa.JSON(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id'),
    sa.UniqueConstraint('ticket_id', 'revision', name='uq_statement_ticket_revision')
    )
    with op.batch_alter_table('settlement_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_statement_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_statement_completed', ['completed_at'], unique=False)

    op.create_table('settlement_ack',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('statement_id', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('answered_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['statement_id'], ['settlement_statement.statement_id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id', 'party', name='uq_ack_statement_party')
    )
    with op.batch_alter_table('settlement_ack', schema=None) as batch_op:
        batch_op.create_index('ix_ack_who_status', ['who', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_ack_statement_id'), ['statement_id'], unique=False)

    op.create_table('settlement_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('statement_id', sa.String(length=40), nullable=True),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('opened_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('result_statement_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.ForeignKeyConstraint(['statement_id'], ['settlement_statement.statement_id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('settlement_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_review_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_review_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('settlement_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_review_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_review_statement_id'))

    op.drop_table('settlement_review')
    with op.batch_alter_table('settlement_ack', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_ack_statement_id'))
        batch_op.drop_index('ix_ack_who_status')

    op.drop_table('settlement_ack')
    with op.batch_alter_table('settlement_statement', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_completed')
        batch_op.drop_index(batch_op.f('ix_settlement_statement_ticket_id'))

    op.drop_table('settlement_statement')
    op.drop_table('settlement_period_line')
    with op.batch_alter_table('settlement_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_period_period_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_period_month'))

    op.drop_table('settlement_period')
    op.drop_table('promotion_freeze')
