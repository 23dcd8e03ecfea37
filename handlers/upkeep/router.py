"""Upkeep: finished queue rows deleted after ``RETENTION_DAYS`` (models/retention.py says which
rows and why they may go).

One durable timer, ``retention``, drives it, so on several replicas one of them runs each
round, and the clock is the bot's. A round deletes at most ``BATCH`` rows per table inside the
worker's transaction for that timer event (short: other events of the batch share it), then
comes back in ``SOON`` while more is left, else in ``EVERY``. The days are read from the
settings at each round, so a firing queued before a restart with other days (or 0: keep
everything) follows the new setting. ``ensure_retention_timer`` arms it at start unless it
is armed (a firing lost to a parked event is thereby picked up again), or cancels it for 0.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.settings import RETENTION_MIN_DAYS, Settings
from handlers.routing import Context, Router
from models.db import write_session
from models.retention import prune
from models.timer import Timer
from scheduler.timers import arm, cancel

log = logging.getLogger("handlers.upkeep")
router = Router("upkeep")

TIMER = "retention"
BATCH = 250  # rows per table and round: ~45 ms of SQLite write lock (bench/retention.py)
SOON = timedelta(seconds=1)  # the next round, while more is left
EVERY = timedelta(hours=1)
FIRST = timedelta(minutes=1)  # after a start


@router.timer(TIMER)
async def on_retention(ctx: Context, settings: Settings) -> None:
    now = ctx.clock.now()
    days = settings.RETENTION_DAYS
    if days < RETENTION_MIN_DAYS:
        return  # 0: keep everything (not re-armed; a start with days again arms it)
    done = await prune(ctx.session, now - timedelta(days=days), BATCH)
    if done.total:
        log.info("retention: deleted %d handled inbox events, %d sent messages and %d finished "
                 "timers older than %d days%s", done.inbox, done.outbox, done.timers, days,
                 "; more next round" if done.more else "")
    await arm(ctx.session, TIMER, now + (SOON if done.more else EVERY), TIMER,
              conversation_key=TIMER, now=now)


async def ensure_retention_timer(sm: Any, clock: Any, days: int, gate: Any = None) -> None:
    """Arm the rounds at start (a minute on) unless armed; ``days`` 0 cancels them."""
    async with write_session(sm, gate) as s:
        now = clock.now()
        if days == 0:
            await cancel(s, TIMER, now=now)
            return
        row = (await s.execute(select(Timer.status).where(Timer.key == TIMER))).scalar()
        if row != "armed":
            await arm(s, TIMER, now + FIRST, TIMER, conversation_key=TIMER, now=now)
