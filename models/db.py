"""Engines, sessions and migrations.

``DATABASE_URL`` is written the ordinary way (``sqlite:///data/bot.db``,
``postgresql://user@host/db``); the async driver (aiosqlite / psycopg 3) is chosen here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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


def _ensure_sqlite_dir(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_setup(sync_engine) -> None:
    """WAL, full fsync on commit, and BEGIN IMMEDIATE so writers queue instead of failing.

    pysqlite's own transaction handling is turned off so SQLAlchemy's BEGIN is the only one
    (the recipe from SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(conn):  # pragma: no cover
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kw) -> AsyncEngine:
    _ensure_sqlite_dir(url)
    aurl = async_url(url)
    if aurl.startswith("sqlite"):
        engine = create_async_engine(aurl, connect_args={"timeout": 30}, **kw)
        _sqlite_setup(engine.sync_engine)
    else:
        engine = create_async_engine(aurl, pool_size=10, max_overflow=10, pool_pre_ping=True, **kw)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Plain SQLAlchemy async sessions (SQLModel tables work with them; SQLModel's own
    AsyncSession warns on ``execute``, which bulk inserts need)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def migrate(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations (synchronous; call before the event loop's work starts)."""
    from alembic import command
    from alembic.config import Config

    _ensure_sqlite_dir(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sync_url(url)
    command.upgrade(cfg, revision)
