"""The ingest's spool (SQLite only): callbacks stored in a file of their own, then moved into the
inbox by the worker.

On one SQLite file, writers take turns: with ingest and handlers in two processes (``make run``),
a callback's insert waited for the handler transaction in progress, whose Python runs while it
holds the lock (a created ticket's ≈ 17 ms), so acks waited p50 30 ms, p99 55–60 ms at 500
callbacks a second (bench/ingest.py --worker; issue 15 asks p99 ≤ 20 ms). PostgreSQL locks rows,
not the database, and needs none of this.

So an ingest process that does not handle (``RUN_WORKER=false``) stores each callback in the
spool, a second SQLite file beside the database (``<database>.spool``) holding one table, a copy
of the inbox's. Its commit is fsynced before the ack, as the inbox's was. A worker then moves what
is spooled into the inbox, in arrival order: one fsynced insert (``ON CONFLICT DO NOTHING`` on the
dedupe key, so a callback WeCom sent again after its first copy was moved is dropped there), then
the moved rows' delete from the spool (by dedupe key). A crash between the two moves them again,
and the inbox's unique key drops the copies: nothing is lost and nothing is handled twice.
Several workers may move at once for the same reason.

Within one process the write gate already lets the ingest go first (``models.db.WriteGate``), so
a process that both takes callbacks and handles them writes the inbox directly. Every worker
moves whatever a spool holds, whatever started it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from models.db import WriteGate, make_engine, make_sessionmaker, sqlite_file, write_session
from models.queues import inbox_insert
from models.tables import InboxEvent

log = logging.getLogger("models.spool")

#: the spool's one table: the inbox's columns and unique dedupe key, none of its lookup indexes
_TABLE: Table = InboxEvent.__table__.to_metadata(MetaData())
_TABLE.indexes.clear()
_COLUMNS = [c.name for c in _TABLE.c if c.name != "id"]


def _columns_of(conn: Any) -> set[str]:
    """The columns of the spool file's table as it is (none: not made yet)."""
    return {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(inbox)")}


def spool_path(database_url: str) -> Path | None:
    """The spool file for a SQLite database file (None: PostgreSQL, or a database in memory)."""
    path = sqlite_file(database_url)
    return Path(path + ".spool") if path else None


class Spool:
    """One process's handle on the spool file (see the module). ``open`` it first."""

    def __init__(self, database_url: str, busy_timeout_ms: int = 3000) -> None:
        path = spool_path(database_url)
        if path is None:
            raise ValueError("a spool needs a SQLite database file")
        self.path = path
        self.database_url = database_url
        self.busy_timeout_ms = busy_timeout_ms
        self.engine: AsyncEngine | None = None
        self._inbox: AsyncEngine | None = None  # the worker's fsynced engine for the move
        self._sm: async_sessionmaker | None = None
        self._inbox_sm: async_sessionmaker | None = None
        self._opening = asyncio.Lock()

    @classmethod
    def for_url(cls, database_url: str, busy_timeout_ms: int = 3000) -> "Spool | None":
        """The spool of a SQLite database file; None where there is none (PostgreSQL)."""
        return cls(database_url, busy_timeout_ms) if spool_path(database_url) else None

    @property
    def sessionmaker(self) -> async_sessionmaker:
        assert self._sm is not None, "open the spool first"
        return self._sm

    async def open(self, *, ingest: bool) -> bool:
        """Open the spool file. The ``ingest`` creates it (or, written by an older version
        whose columns differ, moves what it holds into the inbox and makes it anew), and its
        commits are fsynced before its acks. Anyone else opens it only once the ingest has
        made it (True then), and never changes its shape; its commits (the move's deletes)
        are not fsynced: a delete lost to a power cut only moves those rows again, and the
        inbox's unique key drops them."""
        async with self._opening:  # a worker's round and /healthz may ask at the same time
            if self.engine is not None:
                return True
            if not ingest and not self.path.exists():
                return False
            engine = make_engine(f"sqlite:///{self.path}", durable=ingest, pool_size=1,
                                 busy_timeout_ms=self.busy_timeout_ms, hide_parameters=True)
            try:
                async with engine.connect() as conn:
                    have = await conn.run_sync(_columns_of)
            except BaseException:
                await engine.dispose()
                raise
            if not have and not ingest:
                await engine.dispose()  # the ingest has not made its table yet
                return False
            self.engine, self._sm = engine, make_sessionmaker(engine)
        if ingest and have != set(_TABLE.c.keys()):
            try:  # (one ingest per SQLite database: nobody else makes or drops the table)
                if have:
                    log.warning("the spool %s was written by another version; moving the %d "
                                "callbacks it holds into the inbox first", self.path,
                                await self.count())
                    while await self.move(None):
                        pass
                async with engine.begin() as conn:
                    if have:
                        await conn.run_sync(_TABLE.drop)
                    await conn.run_sync(_TABLE.create, checkfirst=True)
            except BaseException:
                await self.close()  # not open: the next start tries again
                raise
        return True

    async def count(self) -> int:
        """Callbacks stored and not yet moved into the inbox (0 when there is no spool)."""
        if not await self.open(ingest=False):
            return 0
        async with self.sessionmaker() as s:
            return (await s.execute(select(func.count()).select_from(_TABLE))).scalar_one()

    async def move(self, gate: WriteGate | None, limit: int = 500) -> int:
        """Move up to ``limit`` spooled callbacks into the inbox, oldest first. Returns how
        many were moved (already-stored copies included)."""
        if not await self.open(ingest=False):
            return 0
        async with self.sessionmaker() as s:  # a WAL reader: never waits for the ingest
            # The columns as the table has them now: an ingest of a later version may have
            # made it anew since this process opened it.
            have = await (await s.connection()).run_sync(_columns_of)
            columns = [_TABLE.c[c] for c in _COLUMNS if c in have]
            rows = (await s.execute(select(*columns).order_by(_TABLE.c.id).limit(limit))
                    ).all() if columns else []
        if not rows:
            return 0
        if self._inbox_sm is None:
            self._inbox = make_engine(self.database_url, durable=True, pool_size=1,
                                      busy_timeout_ms=self.busy_timeout_ms, hide_parameters=True)
            self._inbox_sm = make_sessionmaker(self._inbox)
        events: list[dict[str, Any]] = [dict(r._mapping) for r in rows]
        # Fsynced before the spool forgets them: a power cut cannot lose what was acked.
        async with write_session(self._inbox_sm, gate) as s:
            await inbox_insert(s, events)
        # By dedupe key, not id: SQLite gives a new row the id of one deleted, so another
        # worker's move of the same rows may already have deleted them and the ingest stored
        # a new callback under that id meanwhile.
        async with write_session(self.sessionmaker, None) as s:
            await s.execute(delete(_TABLE).where(_TABLE.c.dedupe_key.in_(
                [e["dedupe_key"] for e in events])))
        return len(rows)

    async def close(self) -> None:
        for engine in (self.engine, self._inbox):
            if engine is not None:
                await engine.dispose()
        self.engine = self._inbox = self._sm = self._inbox_sm = None
