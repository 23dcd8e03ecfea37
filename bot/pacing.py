"""How many messages each recipient was sent in each of WeCom's windows (``bot.outbox.PACING``).

WeCom drops what goes over a window silently, so the sender asks before every send. The answer
comes from the outbox (rows ``sent`` to that ``pace_key``), which is what makes pacing hold
across restarts. Two ways of asking it:

* **kept in memory** (``shared=False``: one sender on the database, i.e. SQLite, where one
  worker process sends): a recipient's send times are read from the outbox the first time the
  process meets that recipient, then every send this sender makes is added. No aggregate per
  send — it was one ``COUNT`` per message, 7.4 % of the worker's time under load (issue 15).
* **counted every time** (``shared=True``: PostgreSQL, where replicas may each run a sender and
  a count kept by one would miss the other's sends): one aggregate over the outbox per send.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.outbox import PACING
from models.queues import outbox_sent_in_windows
from models.tables import SENT, OutboxMessage

#: The longest window of any API: a recipient's history is kept this far back.
LONGEST = timedelta(seconds=max(w for windows in PACING.values() for w, _ in windows))


class PaceWindows:
    def __init__(self, sessionmaker: async_sessionmaker, *, shared: bool) -> None:
        self.sm = sessionmaker
        self.shared = shared
        self._sent: dict[str, list[datetime]] = {}  # pace_key → send times, oldest first

    async def until(self, api: str, pace_key: str, now: datetime) -> datetime | None:
        """When the next message to ``pace_key`` over ``api`` may go, or None: now."""
        windows = PACING.get(api, ())
        if not windows:
            return None
        since = [now - timedelta(seconds=w) for w, _ in windows]
        if self.shared:
            async with self.sm() as session:  # every window in one statement
                sent = await outbox_sent_in_windows(session, pace_key, since)
        else:
            times = await self._times(pace_key, now)
            sent = []
            for s in since:
                i = bisect_right(times, s)  # the first send inside the window
                sent.append((len(times) - i, times[i] if i < len(times) else None))
        for (window, limit), (count, oldest) in zip(windows, sent):
            if count >= limit and oldest is not None:
                return oldest + timedelta(seconds=window)
        return None

    def sent(self, pace_key: str, at: datetime) -> None:
        """This sender's message to ``pace_key`` was accepted at ``at`` (its row marked sent)."""
        times = self._sent.get(pace_key)
        if times is not None:  # not yet met: read from the outbox when it is
            times.insert(bisect_right(times, at), at)

    async def _times(self, pace_key: str, now: datetime) -> list[datetime]:
        times = self._sent.get(pace_key)
        if times is None:
            async with self.sm() as session:
                times = list((await session.execute(
                    select(OutboxMessage.sent_at).where(
                        OutboxMessage.pace_key == pace_key, OutboxMessage.status == SENT,
                        OutboxMessage.sent_at > now - LONGEST)
                    .order_by(OutboxMessage.sent_at))).scalars())
            self._sent[pace_key] = times
        del times[:bisect_right(times, now - LONGEST)]  # what no window reaches any more
        return times
