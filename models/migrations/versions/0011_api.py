"""api: keys (hashed), idempotency, tickets' integration links, outgoing events, webhook / SMS
deliveries and their attempts, finance exports (models/api.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 01:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _s(n):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _at():
    return models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'api_key',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('name', _s(64), nullable=False),
        sa.Column('prefix', _s(16), nullable=False),
        sa.Column('key_hash', _s(64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('created_at', _at(), nullable=False),
        sa.Column('revoked_at', _at(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('prefix'),
    )
    op.create_table(
        'api_idempotency',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('api_key_id', _ID, sa.ForeignKey('api_key.id'), nullable=False),
        sa.Column('idem_key', _s(255), nullable=False),
        sa.Column('operation', _s(64), nullable=False),
        sa.Column('request_hash', _s(64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'idem_key', name='uq_idem_key'),
    )
    op.create_table(
        'api_ticket_link',
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=False),
        sa.Column('integration', _s(64), nullable=False),
        sa.Column('source', _s(12), nullable=False),
        sa.Column('order_number', _s(64), nullable=True),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_index('ix_api_link_order', 'api_ticket_link', ['integration', 'order_number'])
    op.create_table(
        'api_event',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('source', _s(80), nullable=False),
        sa.Column('type', _s(40), nullable=False),
        sa.Column('ticket_id', _ID, sa.ForeignKey('ticket.id'), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source'),
    )
    op.create_index('ix_api_event_ticket_id', 'api_event', ['ticket_id'])
    op.create_table(
        'api_delivery',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('event_id', _ID, sa.ForeignKey('api_event.id'), nullable=False),
        sa.Column('target', _s(80), nullable=False),
        sa.Column('status', _s(12), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', _at(), nullable=False),
        sa.Column('lease_until', _at(), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', _at(), nullable=False),
        sa.Column('delivered_at', _at(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'target', name='uq_delivery_event_target'),
    )
    op.create_index('ix_delivery_target_status', 'api_delivery', ['target', 'status', 'id'])
    op.create_table(
        'api_delivery_attempt',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('delivery_id', _ID, sa.ForeignKey('api_delivery.id'), nullable=False),
        sa.Column('at', _at(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('ms', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_api_delivery_attempt_delivery_id', 'api_delivery_attempt',
                    ['delivery_id'])
    op.create_table(
        'finance_export',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('day', _s(10), nullable=False),
        sa.Column('name', _s(120), nullable=False),
        sa.Column('statements', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('created_at', _at(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day', 'name', name='uq_finance_export_day_name'),
    )
    # The list endpoint's filters page by id within a status (GET /api/tickets).
    op.create_index('ix_ticket_status_id', 'ticket', ['status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_ticket_status_id', table_name='ticket')
    for t in ('finance_export', 'api_delivery_attempt', 'api_delivery', 'api_event',
              'api_ticket_link', 'api_idempotency', 'api_key'):
        op.drop_table(t)
