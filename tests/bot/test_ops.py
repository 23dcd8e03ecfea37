"""Operability: health, metrics, logs without secrets, graceful shutdown, migrations."""

from __future__ import annotations

import io
import json
import logging

import aiohttp

from bot.logs import event_id_var, setup_logging
from tests.conftest import start_stack


async def test_healthz_and_metrics(stack):
    await stack.sandbox.member_says("zhangsan", "打印机卡纸")
    await stack.settle()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.bot.url}/healthz") as r:
            body = await r.json()
            assert r.status == 200 and body["status"] == "ok"
            # what waits and what is parked (none here); how many were handled: processed
            assert body["inbox"] == {"pending": 0, "parked": 0} == body["outbox"]
            assert body["processed"] == 1
        async with http.get(f"{stack.bot.url}/metrics") as r:
            text = await r.text()
    assert r.headers["Content-Type"].startswith("text/plain")
    assert 'wecom_callbacks_total{channel="app",result="stored"} 1.0' in text
    assert 'wecom_acks_total{channel="app"} 1.0' in text
    assert 'inbox_depth{status="pending"} 0.0' in text
    assert 'outbox_depth{status="parked"} 0.0' in text
    assert 'handler_seconds_count{outcome="handled",type="text"} 1.0' in text
    assert 'outbox_sent_total{api="message/send"} 1.0' in text
    assert "outbox_retries_total" in text and "wecom_ack_seconds_bucket" in text


async def test_healthz_reports_a_dead_database(stack):
    await stack.bot.engine.dispose()
    stack.bot.sm.kw["bind"] = None  # every new session now fails
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.bot.url}/healthz") as r:
            assert r.status == 503 and (await r.json())["status"] == "unhealthy"


async def test_graceful_shutdown_leaves_unhandled_events_in_the_inbox(db_url):
    st = await start_stack(db_url)
    await st.sandbox.member_says("zhangsan", "空调漏水")
    await st.bot.stop()  # stop accepting, flush the writer, close
    async with aiohttp.ClientSession() as http:
        try:
            async with http.post(f"{st.bot.url}/wecom/callback") as r:
                refused = r.status
        except aiohttp.ClientError:
            refused = "connection refused"
    assert refused == "connection refused"
    st2 = await start_stack(db_url)  # same database: the event is still there, and handled now
    try:
        assert [r.status for r in await st2.inbox()] == ["pending"]
        await st2.settle()
        assert [r.status for r in await st2.inbox()] == ["done"]
    finally:
        await st2.bot.stop()
        await st2.sandbox.stop()
        await st.sandbox.stop()


def test_logs_are_json_with_event_id_and_never_show_secrets():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buf = io.StringIO()
    try:
        setup_logging("INFO", "json", ["SuperSecretValue123", "short"])
        root.handlers[0].stream = buf
        token = event_id_var.set("in42")
        log = logging.getLogger("test")
        log.info("calling https://x/cgi-bin/gettoken?corpid=a&corpsecret=SuperSecretValue123")
        log.info("GET /cgi-bin/message/send?access_token=abcDEF123456 failed")
        try:
            raise RuntimeError("secret is SuperSecretValue123")
        except RuntimeError:
            log.exception("boom")
        event_id_var.reset(token)
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    out = buf.getvalue()
    assert "SuperSecretValue123" not in out and "abcDEF123456" not in out
    records = [json.loads(line) for line in out.splitlines()]
    assert all(r["event_id"] == "in42" for r in records)
    assert "access_token=***" in records[1]["msg"]
    assert "exc" in records[2] and "***" in records[2]["exc"]


def test_migrations_match_the_models(db_url):
    """Alembic's head schema is exactly what the SQLModel tables declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import models.tables  # noqa: F401
    from models.db import sync_url

    eng = create_engine(sync_url(db_url))
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    eng.dispose()
    assert diff == []
