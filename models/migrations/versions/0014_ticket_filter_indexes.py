"""ticket filter indexes: the API's ticket list filtered by district or by category, newest
first. Without an index of their own, a value that matches few tickets (a district the chain
barely serves, a rare category) walked the newest tickets until the page filled: most of the
table for a value that matches nothing (bench/api.py, the "rare value" rows).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:00:00
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_district_id", "ticket", ["district", "id"])
    op.create_index("ix_ticket_category_id", "ticket", ["category", "id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_category_id", table_name="ticket")
    op.drop_index("ix_ticket_district_id", table_name="ticket")
