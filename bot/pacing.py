"""How many messages each recipient was sent in each of WeCom's windows (``bot.outbox.PACING``).

WeCom drops what goes over a window silently, so the sender asks before every send — once per
round, for every recipient of the round together. The answer comes from the outbox (rows
``sent`` to that ``pace_key``), which is what makes pacing hold across restarts. Two ways of
asking it:

* **kept in memory** (``shared=False``: one sender on the database, i.e. SQLite, where one
  worker process sends): a recipient's send times are read from the outbox the first time the
  process meets that recipient, then every send this sender makes is added. No aggregate per
  send — it was one ``COUNT`` per message, 7.4 % of the worker's time under load (issue 15).
* **counted every time** (``shared=True``: PostgreSQL, where replicas may each run a sender and
  a count kept by one would miss the other's sends): one aggregate over the outbox per round,
  grouped by recipient. It was one per send, each on a connection of its own: a round of 50
  sends checked out 50 connections at once, past the pool's 20, and opened and closed the rest
  (28.7 % of the sender process, py-spy, e2e at 50 msg/s, 2026-12-02).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.outbox import PACING
from models.queues import outbox_send_times, outbox_sent_in_windows

#: The longest window of any API: a recipient's history is kept this far back.
LONGEST = timedelta(seconds=max(w for windows in PACING.values() for w, _ in windows))


class PaceWindows:
    def __init__(self, sessionmaker: async_sessionmaker, *, shared: bool) -> None:
        self.sm = sessionmaker
        self.shared = shared
        self._sent: dict[str, list[datetime]] = {}  # pace_key → send times, oldest first

    async def until(self, wanted: Iterable[tuple[str, str]], now: datetime
                    ) -> dict[str, datetime]:
        """For each (api, pace_key) of a round: when its next message may go, for the keys
        whose window is full (absent: now). One read for the whole round at most."""
        wanted = [(api, key) for api, key in wanted if PACING.get(api)]
        if not wanted:
            return {}
        spans = sorted({w for api, _ in wanted for w, _ in PACING[api]})
        since = [now - timedelta(seconds=w) for w in spans]
        keys = [key for _, key in wanted]
        if self.shared:
            async with self.sm() as session:  # every recipient and every window at once
                counts = await outbox_sent_in_windows(session, keys, since)
        else:
            counts = {}
            for key, times in (await self._times(keys, now)).items():
                firsts = [bisect_right(times, s) for s in since]  # the first send inside each
                counts[key] = [(len(times) - i, times[i] if i < len(times) else None)
                               for i in firsts]
        out: dict[str, datetime] = {}
        for api, key in wanted:
            seen = dict(zip(spans, counts.get(key, ())))
            for window, limit in PACING[api]:
                count, oldest = seen.get(window, (0, None))
                if count >= limit and oldest is not None:
                    out[key] = oldest + timedelta(seconds=window)
                    break
        return out

    def sent(self, pace_key: str, at: datetime) -> None:
        """This sender's message to ``pace_key`` was accepted at ``at`` (its row marked sent)."""
        times = self._sent.get(pace_key)
        if times is not None:  # not yet met: read from the outbox when it is
            times.insert(bisect_right(times, at), at)

    async def _times(self, keys: list[str], now: datetime) -> dict[str, list[datetime]]:
        """The kept send times of ``keys``; the recipients not met before are read at once."""
        new = [k for k in keys if k not in self._sent]
        if new:
            async with self.sm() as session:
                self._sent.update(await outbox_send_times(session, new, now - LONGEST))
        out = {}
        for key in keys:
            times = self._sent[key]
            del times[:bisect_right(times, now - LONGEST)]  # what no window reaches any more
            out[key] = times
        return out
