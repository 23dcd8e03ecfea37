"""awaiting: one table for "this person's next answer belongs to X" (drafts, awaited 完工
reports, completions and statement answers), filled from the state that held it before

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:30:00
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DRAFT_WINDOW = timedelta(minutes=10)  # config/intake.yaml window_minutes as shipped
ANSWER_DAYS = timedelta(days=30)  # config/settlement.yaml answer_days as shipped
REPORT_WAIT = timedelta(hours=24)


def upgrade() -> None:
    table = op.create_table(
        'awaiting',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('conversation_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('ref', sa.BigInteger(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('person', 'owner', 'kind', 'ref', name='uq_awaiting_subject'),
    )
    with op.batch_alter_table('awaiting', schema=None) as batch_op:
        batch_op.create_index('ix_awaiting_person', ['person', 'expires_at'], unique=False)
    _backfill(table)


def _backfill(table) -> None:
    """What awaited an answer when the bot stopped keeps awaiting it."""
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = []
    for d in conn.execute(sa.text(
            "SELECT id, sender, conversation_key, updated_at FROM draft "
            "WHERE status IN ('collecting', 'confirming')")).mappings():
        rows.append({"person": d["sender"], "conversation_key": d["conversation_key"],
                     "owner": "intake", "kind": "draft", "ref": d["id"],
                     "expires": _utc(d["updated_at"]) + DRAFT_WINDOW})
    for t in conn.execute(sa.text(
            "SELECT id, channel, conversation_key, reporter, resolved_at FROM ticket "
            "WHERE status = 'resolved'")).mappings():
        person = (t["conversation_key"].split(":", 2)[2]
                  if t["channel"] == "kf" and t["conversation_key"].count(":") >= 2
                  else t["reporter"])
        if person:
            rows.append({"person": person, "conversation_key": None, "owner": "intake",
                         "kind": "completion", "ref": t["id"], "expires": None})
    for kv in conn.execute(sa.text(
            "SELECT key, value FROM kv WHERE key LIKE 'dispatch:await_report:%'")).mappings():
        if kv["value"]:
            rows.append({"person": kv["key"].split(":", 2)[2], "conversation_key": None,
                         "owner": "dispatch", "kind": "work_report", "ref": int(kv["value"]),
                         "expires": now + REPORT_WAIT})
    conn.execute(sa.text("DELETE FROM kv WHERE key LIKE 'dispatch:await_report:%'"))
    for a in conn.execute(sa.text(
            "SELECT a.id, a.who, s.created_at FROM settlement_ack a "
            "JOIN settlement_statement s ON s.statement_id = a.statement_id "
            "WHERE a.status = 'pending'")).mappings():
        rows.append({"person": a["who"], "conversation_key": None, "owner": "settlement",
                     "kind": "statement", "ref": a["id"],
                     "expires": _utc(a["created_at"]) + ANSWER_DAYS})
    seen = set()
    for r in rows:
        key = (r["person"], r["owner"], r["kind"], r["ref"])
        if key in seen:
            continue
        seen.add(key)
        op.bulk_insert(table, [{"person": r["person"], "conversation_key": r["conversation_key"],
                                "owner": r["owner"], "kind": r["kind"], "ref": r["ref"],
                                "data": {}, "created_at": now, "expires_at": r["expires"]}])


def _utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def downgrade() -> None:
    with op.batch_alter_table('awaiting', schema=None) as batch_op:
        batch_op.drop_index('ix_awaiting_person')
    op.drop_table('awaiting')
