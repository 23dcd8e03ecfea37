"""technicians, dispatch, card codes, work reports

Existing staff rows get empty technician attributes (server defaults).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 23:22:59.036970
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('userid', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('issued_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('card_code', schema=None) as batch_op:
        batch_op.create_index('ix_card_code_task_user', ['task_id', 'userid', 'id'], unique=False)

    op.create_table('dispatch_job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('offers_made', sa.Integer(), nullable=False),
    sa.Column('assigned_to', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('escalated_to', sa.JSON(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_job', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_job_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('work_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('technician', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('labour_minutes', sa.Integer(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('travel_km', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reported_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('work_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_report_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('dispatch_decision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('chosen', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('decided_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['dispatch_job.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_decision_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_decision_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('dispatch_offer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('technician', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('offered_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['dispatch_decision.id'], ),
    sa.ForeignKeyConstraint(['job_id'], ['dispatch_job.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_offer_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_offer_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_offer_tech_status', ['technician', 'status'], unique=False)

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('skills', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('regions', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('home_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('home_lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('last_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('last_lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shifts', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('leave', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rating', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('departed_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('arrived_at', models.types.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('arrived_at')
        batch_op.drop_column('departed_at')
        batch_op.drop_column('accepted_at')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('rating')
        batch_op.drop_column('capacity')
        batch_op.drop_column('leave')
        batch_op.drop_column('shifts')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('last_lon')
        batch_op.drop_column('last_lat')
        batch_op.drop_column('home_lon')
        batch_op.drop_column('home_lat')
        batch_op.drop_column('regions')
        batch_op.drop_column('skills')
        batch_op.drop_column('provider')
        batch_op.drop_column('extension')
        batch_op.drop_column('phone')

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('region_code')

    with op.batch_alter_table('dispatch_offer', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_tech_status')
        batch_op.drop_index(batch_op.f('ix_dispatch_offer_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_offer_job_id'))

    op.drop_table('dispatch_offer')
    with op.batch_alter_table('dispatch_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_decision_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_decision_job_id'))

    op.drop_table('dispatch_decision')
    with op.batch_alter_table('work_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_report_ticket_id'))

    op.drop_table('work_report')
    with op.batch_alter_table('dispatch_job', schema=None) as batch_op:
        batch_op.drop_index('ix_dispatch_job_ticket')

    op.drop_table('dispatch_job')
    with op.batch_alter_table('card_code', schema=None) as batch_op:
        batch_op.drop_index('ix_card_code_task_user')

    op.drop_table('card_code')
