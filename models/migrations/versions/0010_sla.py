"""sla: clocks, escalation steps, SMS/email/image deliveries and digests

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 01:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _s(n):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _at():
    return models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'sla_clock',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('metric', _s(64), nullable=False),
        sa.Column('policy', _s(300), nullable=False),
        sa.Column('calendar', _s(40), nullable=False),
        sa.Column('chain', _s(40), nullable=False),
        sa.Column('target_seconds', sa.Integer(), nullable=False),
        sa.Column('started_at', _at(), nullable=False),
        sa.Column('yellow_at', _at(), nullable=False),
        sa.Column('due_at', _at(), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('yellow', sa.Boolean(), nullable=False),
        sa.Column('breached', sa.Boolean(), nullable=False),
        sa.Column('breached_at', _at(), nullable=True),
        sa.Column('met_at', _at(), nullable=True),
        sa.Column('paused_at', _at(), nullable=True),
        sa.Column('pause_reason', _s(40), nullable=True),
        sa.Column('paused_seconds', sa.Float(), nullable=False),
        sa.Column('owner', _s(128), nullable=True),
        sa.Column('created_at', _at(), nullable=False),
        sa.Column('updated_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'metric', name='uq_sla_clock_metric'),
    )
    op.create_index('ix_sla_clock_ticket_id', 'sla_clock', ['ticket_id'])
    op.create_index('ix_sla_clock_status_due', 'sla_clock', ['status', 'due_at'])
    op.create_table(
        'sla_escalation',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('clock_id', _ID, sa.ForeignKey('sla_clock.id'), nullable=True),
        sa.Column('step', _s(120), nullable=False),
        sa.Column('action', _s(20), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('held', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'step', name='uq_sla_escalation_step'),
    )
    op.create_index('ix_sla_escalation_ticket_id', 'sla_escalation', ['ticket_id'])
    op.create_table(
        'sla_delivery',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('key', _s(200), nullable=False),
        sa.Column('kind', _s(16), nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=True),
        sa.Column('channel', _s(16), nullable=False),
        sa.Column('recipient', _s(128), nullable=False),
        sa.Column('address', _s(200), nullable=False),
        sa.Column('subject', _s(200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('fallback', sa.JSON(), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('not_before', _at(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', _at(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('provider_ref', _s(200), nullable=True),
        sa.Column('sent_at', _at(), nullable=True),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_sla_delivery_status_due', 'sla_delivery', ['status', 'not_before'])
    op.create_table(
        'sla_digest',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('schedule', _s(40), nullable=False),
        sa.Column('period', _s(40), nullable=False),
        sa.Column('userid', _s(128), nullable=False),
        sa.Column('stats', sa.JSON(), nullable=False),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('schedule', 'period', 'userid', name='uq_sla_digest'),
    )


def downgrade() -> None:
    op.drop_table('sla_digest')
    op.drop_index('ix_sla_delivery_status_due', 'sla_delivery')
    op.drop_table('sla_delivery')
    op.drop_index('ix_sla_escalation_ticket_id', 'sla_escalation')
    op.drop_table('sla_escalation')
    op.drop_index('ix_sla_clock_status_due', 'sla_clock')
    op.drop_index('ix_sla_clock_ticket_id', 'sla_clock')
    op.drop_table('sla_clock')
