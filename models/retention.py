"""Finished rows of the durable queues deleted once nothing reads them any more
(``RETENTION_DAYS``, handlers/upkeep): without it the inbox, the outbox and the timers grow by
every message, reply and firing, millions of rows a month at a busy chain's peak.

What each table's finished rows are still read for, and so the shortest retention
(``bot.settings.RETENTION_MIN_DAYS``, 3: above the longest look-back, the 48-hour 微信客服
allowance):

* **inbox** — only ``event`` rows that are ``done`` go (timer firings, internal events, card
  clicks and other WeCom events): a callback WeCom redelivers comes within seconds, and
  internal events and firings are keyed by ids never given again (below). ``message`` rows
  stay, whoever wrote them: a customer's "N条消息" counts every message they ever wrote
  (``messages_from``), the 48-hour 微信客服 allowance reads the latest one, and 微信客服 pulls
  (up to 3 days back without their cursor) are recognised by them. Pending and parked rows
  stay (an operator may still send a parked one back).
* **outbox** — ``sent`` rows only: the sender's pacing looks 24 h back, the 微信客服 allowance
  48 h and WeCom's duplicate check 4 h. Pending and parked rows stay.
* **timers** — ``fired`` and ``cancelled`` rows: a re-armed key makes a new row (a new id and
  so a new firing key) when its old one is gone.

**The newest row of a table is never deleted.** SQLite gives a new row the highest id plus one
(these tables have no AUTOINCREMENT), and ids name dedupe keys (models/keys.py: a timer's
firing ``timer:<id>:<generation>``, a reply ``evt<id>:<n>``): deleting the newest row would
hand its id to the next one, whose firing or reply would then be skipped as already stored.

Each call deletes at most ``limit`` rows per table, so a write transaction stays short (the
SQLite write lock is shared with the messages being handled); it says whether more is left.
The inbox is walked by id from a mark kept in ``kv`` (rows are stored in time order): the
message rows it keeps are passed once, not scanned again at every run (so is an event still
pending or parked when the walk passes it: it stays for good, as everything did before). The
outbox and the timers are read through their (status, time) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.queues import kv_get, kv_set
from models.tables import DONE, SENT, InboxEvent, OutboxMessage
from models.timer import Timer

INBOX_MARK = "retention:inbox"  # kv: every inbox id up to here has been looked at


@dataclass(frozen=True)
class Pruned:
    inbox: int = 0
    outbox: int = 0
    timers: int = 0
    more: bool = False  # some table had more than ``limit`` to delete

    @property
    def total(self) -> int:
        return self.inbox + self.outbox + self.timers


async def prune(session: AsyncSession, cutoff: datetime, limit: int) -> Pruned:
    """Delete finished rows older than ``cutoff`` (at most ``limit`` per table)."""
    inbox, more_inbox = await _prune_inbox(session, cutoff, limit)
    outbox = await _delete(session, OutboxMessage, (
        OutboxMessage.status == SENT, OutboxMessage.next_attempt_at < cutoff,
        OutboxMessage.sent_at < cutoff), limit)
    timers = await _delete(session, Timer, (  # statuses: scheduler/timers.py
        Timer.status.in_(("fired", "cancelled")), Timer.due_at < cutoff,
        Timer.updated_at < cutoff), limit)
    return Pruned(inbox, outbox, timers, more_inbox or outbox == limit or timers == limit)


async def _prune_inbox(session: AsyncSession, cutoff: datetime, limit: int) -> tuple[int, bool]:
    mark = int(await kv_get(session, INBOX_MARK) or 0)
    top = (await session.execute(select(func.max(InboxEvent.id)))).scalar() or 0
    rows = (await session.execute(
        select(InboxEvent.id, InboxEvent.received_at, InboxEvent.status, InboxEvent.kind)
        .where(InboxEvent.id > mark, InboxEvent.id < top).order_by(InboxEvent.id)
        .limit(limit))).all()
    gone: list[int] = []
    passed = mark
    for r in rows:
        if r.received_at >= cutoff:
            break  # stored in time order: the rest is newer still
        passed = r.id
        if r.status == DONE and r.kind == "event":
            gone.append(r.id)
    deleted = await _gone(session, InboxEvent, gone, (InboxEvent.status == DONE,
                                                     InboxEvent.kind == "event"))
    if passed != mark:
        await kv_set(session, INBOX_MARK, str(passed))
    return deleted, bool(rows) and passed == rows[-1].id and len(rows) == limit


async def _delete(session: AsyncSession, model: Any, where: tuple[Any, ...], limit: int) -> int:
    """Delete rows matching ``where`` (at most ``limit``), never the newest row."""
    top = select(func.max(model.id)).scalar_subquery()
    # PostgreSQL: rows another transaction holds (a fired timer being re-armed) are left for
    # a later round rather than waited for (that wait, inside a batch, could deadlock)
    ids = list((await session.execute(select(model.id).where(*where, model.id < top)
                                      .limit(limit).with_for_update(skip_locked=True)
                                      )).scalars())
    return await _gone(session, model, ids, where)


async def _gone(session: AsyncSession, model: Any, ids: list[int], where: tuple[Any, ...]) -> int:
    """Delete ``ids`` that still match ``where``: on PostgreSQL another transaction may have
    changed a row since it was read (a fired timer re-armed), and DELETE checks its own WHERE
    again on the row's newest version."""
    if not ids:
        return 0
    result = await session.execute(delete(model).where(
        model.id.in_(bindparam("ids", expanding=True)), *where).execution_options(
        synchronize_session=False), {"ids": ids})  # nothing in the session holds these rows
    return max(result.rowcount or 0, 0)
