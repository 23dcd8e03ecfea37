"""Engines, sessions and migrations.

``DATABASE_URL`` is written the ordinary way (``sqlite:///data/bot.db``,
``postgresql://user@host/db``); the async driver (aiosqlite / psycopg 3) is chosen here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from models import sqlite_driver
from models.upsert import PgInsert, SqliteInsert

MIGRATIONS = Path(__file__).parent / "migrations"


def async_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database URL; None for PostgreSQL or a database in memory."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return u.database
    return None


def _ensure_sqlite_dir(url: str) -> None:
    if path := sqlite_file(url):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_setup(sync_engine, synchronous: str, busy_timeout_ms: int) -> None:
    """WAL and the given fsync level. Writers in this process are serialised by ``WriteGate``,
    so SQLite's own busy handler (which sleeps in steps of up to 100 ms) is not what orders them.

    ``synchronous`` is per connection. The inbox writer uses FULL: its commit is fsynced before
    a callback is acked, and since the WAL is one sequential file that fsync also covers every
    earlier commit of the other connections. Those use NORMAL (in WAL mode: durable across a
    process crash, fsynced at checkpoints), so handler transactions do not each pay an fsync
    while holding SQLite's one write lock.

    pysqlite's own transaction handling is turned off so SQLAlchemy's BEGIN is the only one
    (the recipe from SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(conn):  # pragma: no cover
        # Write transactions (write_session) take the write lock up front, so a read-then-write
        # transaction never fails half-way with "database is locked"; reads stay deferred.
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, durable: bool = False, busy_timeout_ms: int = 3000,
                **kw) -> AsyncEngine:
    """``durable=True``: every commit is fsynced before it returns (the inbox writer's engine)."""
    _ensure_sqlite_dir(url)
    aurl = async_url(url)
    if aurl.startswith("sqlite"):
        # aiosqlite, one thread hand-over per statement, turns across processes (sqlite_driver)
        cargs, cparams = create_async_engine(aurl).dialect.create_connect_args(make_url(aurl))
        # Kept open: a connection is a thread, a file and four PRAGMAs (the default pool of 5
        # opened and closed ~3 overflow connections per handled message).
        opts = {"pool_size": 10, "max_overflow": 10} | kw
        engine = create_async_engine(aurl, async_creator=sqlite_driver.creator(
            *cargs, **cparams, high=durable, timeout=busy_timeout_ms / 1000), **opts)
        _sqlite_setup(engine.sync_engine, "FULL" if durable else "NORMAL", busy_timeout_ms)
    else:
        # PostgreSQL fsyncs every commit (synchronous_commit=on, the server default).
        opts = {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True} | kw
        engine = create_async_engine(aurl, **opts)
    return engine


class KeepingSession(Session):
    """A session that keeps every object it loaded until it ends. SQLAlchemy's identity map
    holds objects weakly: a ticket one handler loaded and let go was read again by the next
    handler of the same event (three ``SELECT ticket`` in one ``ticket_created``); kept, each
    later ``session.get`` is answered from memory. Sessions here are one transaction each."""


@event.listens_for(KeepingSession, "loaded_as_persistent")
def _keep(session: Session, instance: Any) -> None:
    session.info.setdefault("kept", []).append(instance)


@event.listens_for(KeepingSession, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction itself, not a flush's inner one
        session.info.pop("memo", None)


@event.listens_for(KeepingSession, "persistent_to_deleted")
def _forget_deleted(session: Session, instance: Any) -> None:
    session.info.pop("memo", None)  # a memo may hold the row ``session.delete`` just removed


def memo(session: AsyncSession, name: str) -> dict[Any, Any]:
    """A dict of answers this transaction already read (``name`` picks the query), empty again
    when the transaction ends — commit or rollback — and when the session deletes a row. Whoever
    writes what a memo answered otherwise clears it (``memo(...).clear()``)."""
    return session.info.setdefault("memo", {}).setdefault(name, {})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Plain SQLAlchemy async sessions (SQLModel tables work with them; SQLModel's own
    AsyncSession warns on ``execute``, which bulk inserts need)."""
    return async_sessionmaker(engine, class_=AsyncSession, sync_session_class=KeepingSession,
                              expire_on_commit=False)


#: PostgreSQL advisory-lock key that serialises migrations across processes ("wo-migr").
MIGRATION_LOCK = 0x776F2D6D69677200


def migrate(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations (synchronous; call before the event loop's work starts).

    Safe when several processes start at once on a fresh database: they take turns (an
    advisory lock on PostgreSQL, a lock file beside the SQLite database); the second finds
    the schema current and goes on.
    """
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, pool, text

    _ensure_sqlite_dir(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sync_url(url)
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        engine = create_engine(sync_url(url), poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
                conn.commit()
                try:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
                    conn.commit()
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                    conn.commit()
        finally:
            engine.dispose()
        return
    if path := sqlite_file(url):
        import fcntl

        with open(f"{path}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            command.upgrade(cfg, revision)
        return
    command.upgrade(cfg, revision)


class WriteGate:
    """SQLite has one writer. In this process, write transactions take turns here, in FIFO
    order with ingest first (``high=True``), instead of racing for SQLite's lock and sleeping
    in its busy handler — that race once cost acks 470 ms at p99 (bench/ingest.py --worker).
    On PostgreSQL the gate is open: rows lock, not the database.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._held = False
        self._high: deque[asyncio.Future[None]] = deque()
        self._low: deque[asyncio.Future[None]] = deque()

    @classmethod
    def for_url(cls, url: str) -> "WriteGate":
        return cls(make_url(url).get_backend_name() == "sqlite")

    @asynccontextmanager
    async def hold(self, high: bool = False) -> AsyncIterator[None]:
        if not self.enabled:
            yield
            return
        if self._held or self._high or (not high and self._low):
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = self._high if high else self._low
            queue.append(fut)
            try:
                await fut  # ownership is handed over by _release
            except asyncio.CancelledError:
                if fut in queue:
                    queue.remove(fut)
                elif fut.done() and not fut.cancelled():
                    self._release()  # handed to us just as we were cancelled: pass it on
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def high_waiting(self) -> bool:
        """An ingest writer of this process waits for the gate."""
        return any(not f.done() for f in self._high)

    def _release(self) -> None:
        for queue in (self._high, self._low):
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)  # the gate stays held, now by the waiter
                    return
        self._held = False


@asynccontextmanager
async def write_session(sm: async_sessionmaker[AsyncSession], gate: WriteGate | None,
                        high: bool = False) -> AsyncIterator[AsyncSession]:
    """A write transaction, through the gate: commits on success, rolls back on error."""
    async with (gate.hold(high) if gate else _open()), sm() as session, session.begin():
        if session.bind is not None and session.bind.dialect.name == "sqlite":
            await session.connection(execution_options={"sqlite_immediate": True})
        yield session


_BUILT: dict[tuple[str, Any], Any] = {}


def built_once(session: AsyncSession, key: Any, build: Callable[[], Any]) -> Any:
    """The statement ``build`` makes, made once per dialect and ``key`` (statements do not
    change once made). Made anew for each message, an upsert's expressions and its cache key
    cost more than running it (the timers' upsert alone was 2 % of a busy worker's CPU)."""
    dialect = _dialect(session)
    stmt = _BUILT.get((dialect, key))
    if stmt is None:
        stmt = _BUILT[(dialect, key)] = build()
    return stmt


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` for the session's dialect, so ``on_conflict_do_nothing`` / ``_do_update``
    (the upserts) can be added: PostgreSQL's or SQLite's, both of which have them; compiled
    once and cached, as other statements are (models/upsert.py)."""
    return (PgInsert if _dialect(session) == "postgresql" else SqliteInsert)(table)


# psycopg turns a statement's ``%(name)s`` placeholders into ``$n`` in Python, and keeps the
# result only for statements of at most 50 parameters (psycopg/_queries.py,
# MAX_CACHED_STATEMENT_PARAMS). An INSERT of many rows with RETURNING is sent by SQLAlchemy as
# ``INSERT … VALUES (…), (…), …`` ("insertmanyvalues"), which psycopg then parsed anew each time:
# three quarters of the timer sweep on PostgreSQL. From UNNEST_FROM rows, such an INSERT gets
# one array per column instead (``INSERT … SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY
# ordinality``): one short statement, parsed once and prepared, rows inserted (and ids drawn)
# in the order given. Client CPU per INSERT of inbox rows, values against arrays
# (bench/insert_rows.py, one run): 1 row 0.64 against 0.84 ms, 8 rows 1.47 against 1.49,
# 16 rows 2.26 against 2.01, 100 rows 6.6 against 4.0, 1,000 rows 80 against 27. Without
# RETURNING, SQLAlchemy's executemany (psycopg pipelines one short statement) stays: in a
# prototype it beat the arrays (1,000 outbox rows: 31 against 45 ms).
UNNEST_FROM = 16


async def insert_rows(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], *,
                      skip_conflicts_on: str | None = None, returning: Any = None) -> Any:
    """``INSERT`` ``rows`` (column values) into ``table`` in one statement, ``ON CONFLICT
    (skip_conflicts_on) DO NOTHING`` when given, ``RETURNING returning`` when given; the result.
    A column a row leaves out takes its default, as in any INSERT."""
    rows = list(rows)
    first = rows[0].keys() if rows else {}.keys()
    unnest = (tuple(first) if returning is not None and len(rows) >= UNNEST_FROM
              and _dialect(session) == "postgresql" and all(r.keys() == first for r in rows)
              # a column left out with a default SQLAlchemy fills in: the usual way does that
              and not any(c.default is not None for c in table.columns if c.key not in first)
              else None)
    key = ("insert-rows", table, skip_conflicts_on,
           returning.key if returning is not None else None, unnest)
    stmt = built_once(session, key, lambda: _insert_rows(session, table, unnest,
                                                         skip_conflicts_on, returning))
    if unnest is not None:
        return await session.execute(stmt, {f"u_{k}": [r[k] for r in rows] for k in unnest})
    return await session.execute(stmt, rows)


def _insert_rows(session: AsyncSession, table: Any, unnest: tuple[str, ...] | None,
                 skip_conflicts_on: str | None, returning: Any) -> Any:
    stmt = dialect_insert(session, table)
    if unnest is not None:
        arrays = func.unnest(*[bindparam(f"u_{k}", type_=ARRAY(table.c[k].type)) for k in unnest]
                             ).table_valued(*unnest, with_ordinality="ord").render_derived()
        stmt = stmt.from_select(list(unnest), select(*[arrays.c[k] for k in unnest])
                                .order_by(arrays.c.ord))
    if skip_conflicts_on is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
    return stmt.returning(returning) if returning is not None else stmt


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def add_many(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """New rows of ``model``'s table, given as column values, inserted in one ``INSERT …
    RETURNING``; the session's persistent objects for them come back, ordered by id. A flush
    would insert them one statement each on SQLite: SQLAlchemy batches a flush's inserts only
    when it can match RETURNING rows to the objects it holds, which needs a sentinel column
    that SQLite's autoincrement is not. Here the returned rows are the objects, and no object
    is made only to be thrown away (a table model's constructor costs ~50 µs). A column left
    out takes the model's default (its ``default`` or ``default_factory``), else the column's
    own default, else NULL where it may be; otherwise it must be given. For tables with an
    autoincrement id (primary keys are left to the database); a ``None`` is stored as NULL,
    except on a column with a server default."""
    if not rows:
        return []
    columns = [c for c in model.__table__.columns if not c.primary_key]
    fields = model.model_fields
    values = []
    for row in rows:
        full = {}
        for c in columns:
            if c.key in row:
                v = row[c.key]
            elif (field := fields.get(c.key)) is not None and not field.is_required():
                v = field.get_default(call_default_factory=True)
            elif c.default is not None or c.server_default is not None or c.nullable:
                continue  # the column's own default, or NULL
            else:
                raise TypeError(f"{model.__name__}: no value for {c.key}")
            if v is not None or c.server_default is None:
                full[c.key] = v
        values.append(full)
    # NULL rendered, not left out: rows whose Nones differ still share one statement
    made = list(await session.scalars(insert(model).returning(model), values,
                                      execution_options={"render_nulls": True}))
    return sorted(made, key=lambda r: r.id)


def writer_waiting(url: str, gate: WriteGate) -> Callable[[], bool] | None:
    """On SQLite: whether an ingest writer waits for the write lock, in this process (at the
    gate) or in another (at the turnstile, ``sqlite_driver.TurnWatch``). None elsewhere."""
    path = sqlite_file(url)
    if path is None:
        return None
    _ensure_sqlite_dir(url)
    watch = sqlite_driver.TurnWatch(path)
    return lambda: gate.high_waiting() or watch.waiting()


@asynccontextmanager
async def _open() -> AsyncIterator[None]:
    yield


@asynccontextmanager
async def command_database(url: str, busy_timeout_ms: int = 3000
                           ) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """For one-shot commands (``parked``, ``retry``, ``staff``, ``settle``): the database
    migrated to head and opened; closed again on the way out."""
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
