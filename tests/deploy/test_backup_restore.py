"""The backup-and-restore drill of docs/deployment.md, run with the shipped scripts against the
machine's PostgreSQL: a database migrated by the bot, a ticket written through the bot's own
tables, ``backup.sh`` (pg_dump), ``restore.sh`` into a fresh database, the rows checked there, and
the doctor's database checks passing on the copy."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from handlers.doctor.local import check_database, head_revision
from models.db import make_engine, make_sessionmaker, migrate, write_session
from tests.conftest import PG_ADMIN_URL, ROOT, ensure_postgres

SCRIPTS = ROOT / "docs" / "deploy" / "backup"


@pytest.fixture
def databases():
    """Two new databases (the live one and the one restored into), dropped at the end."""
    ensure_postgres()
    names = [f"wo_drill_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield [f"{base}/{name}" for name in names]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def write_a_ticket(url: str) -> str:
    from models.ticketing import create_ticket, customer_for, site_named
    from models.tickets import TicketCreate

    engine = make_engine(url)
    try:
        now = datetime.now(UTC)
        async with write_session(make_sessionmaker(engine), None) as s:
            customer = await customer_for(s, "wecom_userid", "zhangsan", now, name="张三")
            site = await site_named(s, "人民广场店", now)
            ticket = await create_ticket(s, TicketCreate(
                customer_id=customer.id, site_id=site.id, category="repair",
                title="咖啡机坏了", description="咖啡机不出水，电话 13800000000", device="咖啡机",
                store="人民广场店", channel="app", conversation_key="app:zhangsan",
                reporter="zhangsan"), actor="drill", now=now)
            return ticket.number
    finally:
        await engine.dispose()


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


async def test_backup_and_restore_drill(databases, tmp_path):
    live, restored = databases
    migrate(live)
    # awaited on the test's own loop: asyncio.run() here left pytest-asyncio a loop it never
    # closed, collected later as an "unclosed event loop" error in another test's setup
    number = await write_a_ticket(live)

    # The bot's own form of the URL, with a password in it: the script passes it to libpq
    # through PGPASSWORD, never on a command line (local trust auth ignores it here).
    bot_url = live.replace("postgresql://postgres@", "postgresql+psycopg://postgres:p%40ss@")
    backup = run("backup.sh", DATABASE_URL=bot_url, BACKUP_DIR=str(tmp_path / "backups"),
                 KEEP_DAYS="14")
    assert backup.returncode == 0, backup.stderr
    dump = backup.stdout.strip()
    assert dump.startswith(str(tmp_path / "backups" / "wecom-bot-")) and dump.endswith(".dump")
    assert os.path.getsize(dump) > 0 and not list((tmp_path / "backups").glob("*.partial"))

    done = run("restore.sh", dump, restored)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"restored; migration revision {head_revision()}"

    with psycopg.connect(restored) as conn:
        row = conn.execute("SELECT t.number, t.title, t.description, t.status, c.name "
                           "FROM ticket t JOIN customer c ON c.id = t.customer_id").fetchall()
        audit = conn.execute("SELECT count(*) FROM ticket_event").fetchone()[0]
        regions = conn.execute("SELECT count(*) FROM region").fetchone()[0]
    assert row == [(number, "咖啡机坏了", "咖啡机不出水，电话 13800000000", "new", "张三")]
    assert audit == 1 and regions > 3000  # the reference data came along too
    found = check_database(restored)
    assert found.database.mark == "✓" and found.migrations.mark == "✓"

    # A second restore into a database that has tables is refused, and nothing is changed.
    again = run("restore.sh", dump, restored)
    assert again.returncode == 2 and "already has" in again.stderr and "createdb" in again.stderr
    with psycopg.connect(restored) as conn:
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == 1


def test_backup_refuses_sqlite(tmp_path):
    out = run("backup.sh", DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
              BACKUP_DIR=str(tmp_path))
    assert out.returncode == 2 and ".backup" in out.stderr
