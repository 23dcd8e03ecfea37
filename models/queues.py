"""Small query functions over the inbox and outbox tables (no WeCom, no HTTP)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.db import insert_rows
from models.keys import kf_conversation

from models.tables import DONE, PARKED, PENDING, SENT, InboxEvent, KeyValue, OutboxMessage


# -- inbox ---------------------------------------------------------------------------------


async def inbox_insert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert inbox rows, skipping dedupe keys already stored. Returns the keys that were new."""
    if not rows:
        return set()
    table = InboxEvent.__table__
    result = await insert_rows(session, table, rows, skip_conflicts_on="dedupe_key",
                               returning=table.c.dedupe_key)
    return set(result.scalars())


def _due_heads(model, group_col, limit: int, now: datetime):
    """The oldest pending row of each group (conversation / recipient), if due, oldest first.

    Later rows of a group wait behind its head, which is what keeps order per group; rows that
    are parked are no longer pending and so never block.
    """
    head = (select(group_col, func.min(model.id).label("head_id"))
            .where(model.status == PENDING).group_by(group_col).subquery())
    return (select(model).join(head, model.id == head.c.head_id)
            .where(model.next_attempt_at <= now).order_by(model.id).limit(limit))


_earlier = aliased(InboxEvent)


async def inbox_due_heads(session: AsyncSession, now: datetime, limit: int) -> list[InboxEvent]:
    """The due head event of each conversation (no earlier pending event in it): arrival order
    per conversation; between conversations, due order. Walks the pending events in due order
    (index ``ix_inbox_status_due``) and stops after ``limit`` heads, so a backlog of 20,000
    pending events costs a few milliseconds (grouping all of them to find each conversation's
    head, as the outbox does, took 100–150 ms a round on SQLite)."""
    earlier = (select(_earlier.id).where(_earlier.status == PENDING,
                                         _earlier.conversation_key == InboxEvent.conversation_key,
                                         _earlier.id < InboxEvent.id)
               .correlate(InboxEvent).exists())
    stmt = (select(InboxEvent)
            .where(InboxEvent.status == PENDING, InboxEvent.next_attempt_at <= now, ~earlier)
            .order_by(InboxEvent.next_attempt_at, InboxEvent.id).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def inbox_claim(session: AsyncSession, event_id: int) -> InboxEvent | None:
    """Lock a still-pending event for this transaction, or None if another process has it
    (PostgreSQL ``FOR UPDATE SKIP LOCKED``) or it is no longer pending. On SQLite the write
    gate already makes this process the only writer; the status check still applies."""
    stmt = (select(InboxEvent)
            .where(InboxEvent.id == event_id, InboxEvent.status == PENDING)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


# The statements every batch runs, built once with parameters (see models.db.built_once).
_CLAIM_MANY = (select(InboxEvent.id)
               .where(InboxEvent.id.in_(bindparam("ids", expanding=True)),
                      InboxEvent.status == PENDING)
               .with_for_update(skip_locked=True))
_DONE_MANY = (update(InboxEvent).where(InboxEvent.id.in_(bindparam("ids", expanding=True)))
              .values(status=DONE, processed_at=bindparam("now"), last_error=None)
              .execution_options(synchronize_session=False))


async def inbox_claim_many(session: AsyncSession, event_ids: Sequence[int]) -> set[int]:
    """``inbox_claim`` for several events in one statement: the ids this transaction holds."""
    return set((await session.execute(_CLAIM_MANY, {"ids": list(event_ids)})).scalars())


async def inbox_mark_done_many(session: AsyncSession, event_ids: Sequence[int],
                               now: datetime) -> None:
    await session.execute(_DONE_MANY, {"ids": list(event_ids), "now": now})


async def inbox_mark_done(session: AsyncSession, event_id: int, now: datetime) -> None:
    await session.execute(
        update(InboxEvent).where(InboxEvent.id == event_id)
        .values(status=DONE, processed_at=now, last_error=None)
    )


async def inbox_record_failure(session: AsyncSession, event_id: int, error: str, now: datetime,
                               retry_at: datetime | None) -> None:
    """Count a failed attempt; ``retry_at=None`` parks the event for a person."""
    values: dict[str, Any] = {"attempts": InboxEvent.attempts + 1, "last_error": error[:4000]}
    if retry_at is None:
        values |= {"status": PARKED, "processed_at": now}
    else:
        values |= {"next_attempt_at": retry_at}
    await session.execute(update(InboxEvent).where(InboxEvent.id == event_id).values(**values))


async def inbox_counts(session: AsyncSession) -> dict[str, int]:
    """Events waiting (pending) and given up on (parked), for /healthz and /metrics."""
    return await _open_counts(session, InboxEvent)


async def _open_counts(session: AsyncSession, model: Any) -> dict[str, int]:
    """How many rows wait and how many are parked: read on the status index, so the cost is
    the rows still open, not the history. The done / sent rows (every message ever handled)
    are not counted: reading all of them took 68 ms (SQLite) / 120 ms (PostgreSQL) per
    scrape at 600,000 rows (bench/health.py).
    How many were handled is the ``processed`` figure and the ``*_total`` counters."""
    rows = await session.execute(
        select(model.status, func.count()).where(model.status.in_((PENDING, PARKED)))
        .group_by(model.status))
    return {PENDING: 0, PARKED: 0} | {status: n for status, n in rows.all()}


# -- outbox --------------------------------------------------------------------------------


async def outbox_add(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    if not rows:
        return 0
    result = await insert_rows(session, OutboxMessage.__table__, rows,
                               skip_conflicts_on="idempotency_key")
    return max(result.rowcount or 0, 0)


def _outbox_due(now: datetime, limit: int):
    return (_due_heads(OutboxMessage, OutboxMessage.pace_key, limit, now)
            .where(or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now)))


async def outbox_due(session: AsyncSession, now: datetime, limit: int) -> list[OutboxMessage]:
    """The due, unclaimed head message of each recipient (a read: nothing is claimed)."""
    return list((await session.execute(_outbox_due(now, limit))).scalars())


async def outbox_claim(session: AsyncSession, now: datetime, limit: int,
                       lease: timedelta) -> list[OutboxMessage]:
    """Claim the due head message of each recipient for ``lease``: no other sender (another
    bot process) takes it meanwhile. Rows are locked with ``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL (SQLite's write transaction already makes this process the only writer). A head
    still leased blocks its recipient, which keeps order per recipient. A row whose lease ran
    out without an outcome comes back with ``lease_until`` set: its last attempt is unknown."""
    stmt = _outbox_due(now, limit).with_for_update(skip_locked=True, of=OutboxMessage.__table__)
    rows = list((await session.execute(stmt)).scalars())
    if rows:
        # The loaded rows keep the lease they had: set means the last outcome is unknown.
        await session.execute(update(OutboxMessage).where(
            OutboxMessage.id.in_([r.id for r in rows])).values(lease_until=now + lease)
            .execution_options(synchronize_session=False))
    return rows


async def outbox_repeats(session: AsyncSession, keys: Iterable[str],
                         since: datetime) -> dict[str, int]:
    """How many messages with each duplicate key were queued since ``since``."""
    keys = list(set(keys))
    if not keys:
        return {}
    rows = await session.execute(_REPEATS, {"keys": keys, "since": since})
    return {k: int(n) for k, n in rows.all()}


_REPEATS = (select(OutboxMessage.dup_key, func.count())
            .where(OutboxMessage.dup_key.in_(bindparam("keys", expanding=True)),
                   OutboxMessage.created_at > bindparam("since"))
            .group_by(OutboxMessage.dup_key))


async def outbox_sent_in_windows(session: AsyncSession, pace_keys: Iterable[str],
                                 since: Sequence[datetime]
                                 ) -> dict[str, list[tuple[int, datetime | None]]]:
    """For each of ``pace_keys``: how many messages WeCom accepted after each of ``since``, and
    the oldest of them (in the order of ``since``), in one statement for a sender's whole round
    (every recipient, a minute and an hour). A key sent nothing in any window is absent."""
    keys = list(set(pace_keys))
    if not since or not keys:
        return {}
    stmt = select(OutboxMessage.pace_key, *(agg for s in since for agg in (
        func.count().filter(OutboxMessage.sent_at > s),
        func.min(OutboxMessage.sent_at).filter(OutboxMessage.sent_at > s)))).where(
        OutboxMessage.pace_key.in_(keys), OutboxMessage.status == SENT,
        OutboxMessage.sent_at > min(since)).group_by(OutboxMessage.pace_key)
    return {row[0]: [(int(row[1 + 2 * i] or 0), row[2 + 2 * i]) for i in range(len(since))]
            for row in (await session.execute(stmt)).all()}


async def outbox_send_times(session: AsyncSession, pace_keys: Iterable[str],
                            since: datetime) -> dict[str, list[datetime]]:
    """When WeCom accepted each message to each of ``pace_keys`` after ``since``, oldest first
    (every key present)."""
    keys = list(set(pace_keys))
    times: dict[str, list[datetime]] = {k: [] for k in keys}
    if keys:
        rows = await session.execute(
            select(OutboxMessage.pace_key, OutboxMessage.sent_at).where(
                OutboxMessage.pace_key.in_(keys), OutboxMessage.status == SENT,
                OutboxMessage.sent_at > since).order_by(OutboxMessage.sent_at))
        for key, at in rows.all():
            times[key].append(at)
    return times


async def outbox_mark_sent(session: AsyncSession, marks: Sequence[tuple[int, dict[str, Any]]],
                           now: datetime) -> None:
    """Rows sent, each with WeCom's answer: one statement executed for every row (psycopg
    pipelines it: one round trip for a round's marks instead of one each)."""
    if marks:
        await session.execute(_MARK_SENT, [{"b_id": i, "b_result": r, "b_now": now}
                                           for i, r in marks])


_OUTBOX = OutboxMessage.__table__
_MARK_SENT = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("b_id")).values(
    status=SENT, sent_at=bindparam("b_now", type_=_OUTBOX.c.sent_at.type),
    result=bindparam("b_result", type_=_OUTBOX.c.result.type), last_error=None,
    lease_until=None, attempts=_OUTBOX.c.attempts + 1))


async def outbox_release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Claimed rows handed back unattempted: free for the next round, not "outcome unknown"."""
    if ids:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(list(ids)))
                              .values(lease_until=None)
                              .execution_options(synchronize_session=False))


async def outbox_defer(session: AsyncSession, msg_id: int, until: datetime, *,
                       unknown_since: datetime | None = None) -> None:
    """Not a failure and not an attempt: the recipient's rate window is full. A row whose last
    outcome is unknown keeps saying so (``unknown_since``)."""
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id)
                          .values(next_attempt_at=until, lease_until=unknown_since))


async def outbox_record_failure(session: AsyncSession, msg_id: int, error: str, now: datetime,
                                retry_at: datetime | None, *, unknown: bool = False) -> None:
    """Count a failed attempt; ``retry_at=None`` parks it. ``unknown``: the request may have
    reached WeCom — the row keeps an (expired) lease, which tells the next attempt so."""
    values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1, "last_error": error[:4000],
                              "lease_until": now if unknown else None}
    values |= {"status": PARKED} if retry_at is None else {"next_attempt_at": retry_at}
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id).values(**values))


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    """Messages waiting to be sent (pending) and parked, for /healthz and /metrics."""
    return await _open_counts(session, OutboxMessage)


def unwritten_outbox(session: AsyncSession) -> list[dict[str, Any]]:
    """Outbox rows this transaction has queued but not written yet (the worker writes a batch's
    replies after its last handler): whoever counts the outbox within the transaction counts
    these too."""
    return session.info.setdefault("unwritten_outbox", [])


async def kf_sends_since_last_message(session: AsyncSession, open_kfid: str,
                                      external_userid: str) -> tuple[datetime | None, int]:
    """When the 微信客服 customer last wrote (as stored in the inbox), and how many of our
    messages count against the allowance that gave: those sent since, and those still queued
    (they will go out after it). Parked ones never reach WeCom and do not count."""
    conversation = kf_conversation(open_kfid, external_userid)
    last = (await session.execute(
        select(func.max(InboxEvent.received_at)).where(
            InboxEvent.conversation_key == conversation, InboxEvent.kind == "message"))
    ).scalar_one_or_none()
    if last is None:
        return None, 0
    sent = (await session.execute(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.pace_key == conversation,
            or_(OutboxMessage.status == PENDING,
                and_(OutboxMessage.status == SENT, OutboxMessage.sent_at >= last))))
    ).scalar_one()
    queued = sum(1 for r in unwritten_outbox(session) if r["pace_key"] == conversation)
    return last, int(sent) + queued


# -- key/value cursors ---------------------------------------------------------------------


async def kv_get(session: AsyncSession, key: str) -> str | None:
    row = await session.get(KeyValue, key)
    return row.value if row else None


async def kv_set(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(KeyValue, key)
    if row:
        row.value = value
    else:
        session.add(KeyValue(key=key, value=value))


# -- parked rows: what a person looks at and sends back ----------------------------------


QUEUES = {"inbox": InboxEvent, "outbox": OutboxMessage}


async def list_parked(session: AsyncSession, queue: str, limit: int = 100) -> list[Any]:
    model = QUEUES[queue]
    stmt = select(model).where(model.status == PARKED).order_by(model.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def retry_parked(session: AsyncSession, queue: str, row_id: int) -> bool:
    """Operator action: put a parked inbox event or outbox message back in its queue, due at
    once. Due since the row was first stored rather than since ``now``: the operator's clock
    is not the bot's, and a bot whose clock lags would otherwise leave the row waiting."""
    model = QUEUES[queue]
    first = InboxEvent.received_at if model is InboxEvent else OutboxMessage.created_at
    values: dict[str, Any] = {"status": PENDING, "attempts": 0, "next_attempt_at": first}
    if model is InboxEvent:
        values["processed_at"] = None
    else:
        values["lease_until"] = None  # the person decided: send it again
    res = await session.execute(update(model).where(
        and_(model.id == row_id, model.status == PARKED)).values(**values))
    return bool(res.rowcount)


def backoff(attempt: int, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential backoff after the ``attempt``-th failure: 2 s, 4 s, 8 s … capped."""
    return timedelta(seconds=min(cap, base * (2 ** max(attempt - 1, 0))))


