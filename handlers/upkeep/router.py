"""Upkeep: finished queue rows deleted after ``RETENTION_DAYS`` (models/retention.py says which
rows and why they may go).

One durable timer, ``retention``, drives it, so on several replicas one of them runs each
round, and the clock is the bot's. A round deletes at most ``BATCH`` rows per table inside the
worker's write transaction (short: the messages being handled share it), then comes back in
``SOON`` while more is left, else in ``EVERY``. ``ensure_retention_timer`` arms it at start, or
cancels it when ``RETENTION_DAYS`` is 0; the days go in the timer's payload.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from handlers.routing import Context, Router
from models.db import write_session
from models.retention import MIN_DAYS, prune
from models.timer import Timer
from scheduler.timers import arm, cancel

log = logging.getLogger("handlers.upkeep")
router = Router("upkeep")

TIMER = "retention"
BATCH = 500  # rows per table and round
SOON = timedelta(seconds=2)  # the next round, while more is left
EVERY = timedelta(hours=1)
FIRST = timedelta(minutes=1)  # after a start


@router.timer(TIMER)
async def on_retention(ctx: Context, data: dict[str, Any]) -> None:
    now = ctx.clock.now()
    days = int(data.get("days") or 0)
    if days < MIN_DAYS:
        return  # 0 (keep everything) is cancelled at start; nothing else arms it
    done = await prune(ctx.session, now - timedelta(days=days), BATCH)
    if done.total:
        log.info("retention: deleted %d handled inbox events, %d sent messages and %d finished "
                 "timers older than %d days%s", done.inbox, done.outbox, done.timers, days,
                 "; more next round" if done.more else "")
    await arm(ctx.session, TIMER, now + (SOON if done.more else EVERY), TIMER,
              payload={"days": days}, conversation_key=TIMER, now=now)


async def ensure_retention_timer(sm: Any, clock: Any, days: int, gate: Any = None) -> None:
    """Arm the rounds at start (a minute on) unless armed with these ``days`` already;
    ``days`` 0 cancels them."""
    async with write_session(sm, gate) as s:
        now = clock.now()
        if days == 0:
            await cancel(s, TIMER, now=now)
            return
        row = (await s.execute(select(Timer).where(Timer.key == TIMER))).scalar_one_or_none()
        if row is not None and row.status == "armed" and (row.payload or {}).get("days") == days:
            return
        await arm(s, TIMER, now + FIRST, TIMER, payload={"days": days}, conversation_key=TIMER,
                  now=now)
