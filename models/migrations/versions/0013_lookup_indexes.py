"""lookup indexes: what a ticket's creation and a customer's history look up by (phone,
address, merges, a sender's messages, recent accepts, a clock's escalation steps, awaited
answers by subject, the clocks handed to a person for their 我的待办, a digest's period, a
store's open tickets, when a 微信客服 customer last wrote, pending webhook deliveries,
cancellations since a day, an order's ticket through the API). On an empty database these lookups were cheap as full scans; with a year
of history (200,000 tickets) they made a created ticket's transaction 9× longer
(bench/tx_time.py --history).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 15:20:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

INDEXES = [
    ("customer", "ix_customer_phone", ["phone"]),
    ("customer", "ix_customer_merged_into", ["merged_into_id"]),
    ("ticket", "ix_ticket_phone", ["phone"]),
    ("ticket", "ix_ticket_address", ["address"]),
    ("draft", "ix_draft_customer", ["customer_id"]),
    ("inbox", "ix_inbox_sender_kind", ["sender", "kind"]),
    ("dispatch_offer", "ix_offer_status_answered", ["status", "answered_at"]),
    ("awaiting", "ix_awaiting_subject", ["owner", "kind", "ref"]),
    ("sla_escalation", "ix_sla_escalation_clock", ["clock_id"]),
    ("sla_clock", "ix_sla_clock_owner", ["owner"]),
    ("ticket", "ix_ticket_created_at", ["created_at"]),
    ("ticket", "ix_ticket_resolved_at", ["resolved_at"]),
    ("ticket", "ix_ticket_closed_at", ["closed_at"]),
    ("sla_clock", "ix_sla_clock_breached_at", ["breached_at"]),
    ("sla_clock", "ix_sla_clock_met_at", ["met_at"]),
    ("inbox", "ix_inbox_conv_kind_at", ["conversation_key", "kind", "received_at"]),
    ("api_delivery", "ix_delivery_status_target", ["status", "target", "id"]),
    ("ticket_event", "ix_ticket_event_action_at", ["action", "at"]),
    ("ticket", "ix_ticket_store_status", ["store", "status"]),
    ("api_ticket_link", "ix_api_link_order_number", ["order_number"]),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
