"""outbox: claimed with a lease, the exact request body, delivery semantics, duplicate key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='at_least_once'))
        batch_op.add_column(sa.Column('dup_key', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('lease_until', models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_outbox_dup', ['dup_key', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_dup')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('dup_key')
        batch_op.drop_column('delivery')
        batch_op.drop_column('body')
