"""The outbox sender: pacing inside WeCom's silent-drop limits, retries, parking."""

from __future__ import annotations

import pytest

from models.messages import Event
from bot.outbox import reply_rows
from models.messages import Outgoing
from models.queues import outbox_add


async def enqueue(stack, user: str, n: int, start: int = 0) -> None:
    ev = Event("app", "message", "text", user, f"app:{user}", f"k-{user}", {}, id=999)
    rows = reply_rows(ev, [Outgoing(text=f"m{i}") for i in range(start, start + n)], agent_id=218,
                      now=stack.clock.now())
    for i, r in enumerate(rows):
        r["idempotency_key"] = f"test:{user}:{start + i}"
    async with stack.bot.sm() as s, s.begin():
        await outbox_add(s, rows)


async def queue_kf_progress(stack, text: str, customer: str = "wmCUSTOMER") -> None:
    """A 微信客服 progress notice (出发 / 到达: at most once) queued for ``customer``, who has
    just written (so WeCom allows replies)."""
    from models.db import write_session

    stack.sandbox.kf_customer_wrote(customer)
    ev = Event("internal", "event", "x", "", "ticket:1", "test:kf", {}, 1)
    rows = reply_rows(ev, [Outgoing(text=text, to_kf=("wkKF", customer), at_most_once=True)],
                      agent_id=218, now=stack.clock.now())
    async with write_session(stack.bot.sm, None) as s:
        await outbox_add(s, rows)


async def test_control_unpaced_sends_are_silently_dropped_by_wecom(stack):
    """Why pacing matters: straight through the client, WeCom drops the 31st message."""
    for i in range(35):
        await stack.bot.client.perform("message/send", {"touser": "lishifu", "agentid": 218, "msgtype": "text", "text": {"content": f"m{i}"}})
    assert len(stack.sandbox.delivered("app:lishifu")) == 30
    assert len(stack.sandbox.state.dropped) == 5


async def test_sender_paces_so_nothing_is_dropped(stack):
    await enqueue(stack, "lishifu", 35)
    await enqueue(stack, "wangjingli", 3)
    await stack.settle()
    assert len(stack.sandbox.delivered("app:lishifu")) == 30  # the minute's allowance
    assert len(stack.sandbox.delivered("app:wangjingli")) == 3  # others are not held up
    assert stack.sandbox.state.dropped == []
    held = [o for o in await stack.outbox() if o.status == "pending"]
    assert len(held) == 5
    assert held[0].next_attempt_at > stack.clock.now()  # the head waits for the window; the rest queue behind it
    stack.clock.advance(seconds=61)
    await stack.settle()
    got = [ln.content for ln in stack.sandbox.delivered("app:lishifu")]
    assert got == [f"m{i}" for i in range(35)]  # all delivered, in order
    assert stack.sandbox.state.dropped == []


async def test_pacing_holds_across_a_restart(stack):
    """The windows are read from the outbox by a new process: a restart mid-minute does not
    reopen the allowance (SQLite keeps them in memory after that first read; PostgreSQL counts
    every time, as replicas may share the recipient)."""
    from bot.pacing import PaceWindows

    await enqueue(stack, "lishifu", 30)
    await stack.settle()
    assert len(stack.sandbox.delivered("app:lishifu")) == 30
    restarted = PaceWindows(stack.bot.sm, shared=stack.bot.sender.pace.shared)
    stack.bot.sender.pace = restarted
    await enqueue(stack, "lishifu", 2, start=30)
    await stack.settle()
    assert len(stack.sandbox.delivered("app:lishifu")) == 30 and stack.sandbox.state.dropped == []
    stack.clock.advance(seconds=61)
    await stack.settle()
    assert [ln.content for ln in stack.sandbox.delivered("app:lishifu")][-2:] == ["m30", "m31"]


async def test_one_sqlite_sender_reads_a_recipients_history_once(stack, db_url):
    from sqlalchemy import event

    statements: list[str] = []
    engine = stack.bot.engine.sync_engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        await enqueue(stack, "lishifu", 20)
        await stack.settle()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(stack.sandbox.delivered("app:lishifu")) == 20
    reads = [s for s in statements if "FROM outbox" in s and "sent_at >" in s]
    assert len(reads) == (1 if db_url.startswith("sqlite") else 20)


async def test_a_round_reads_every_recipients_windows_at_once(stack, db_url):
    """One pacing read for a whole round, on both databases (PostgreSQL made one per send, each
    on a connection of its own); a full window still holds only its own recipient."""
    from sqlalchemy import event

    await enqueue(stack, "lishifu", 30)
    await stack.settle()  # his minute is full
    users = [f"member{i:02d}" for i in range(12)]
    for user in users:
        await enqueue(stack, user, 1)
    await enqueue(stack, "lishifu", 1, start=30)
    statements: list[str] = []
    engine = stack.bot.engine.sync_engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        await stack.bot.sender.run_once()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [s for s in statements if "FROM outbox" in s and "sent_at >" in s]
    assert len(reads) == 1, reads
    assert all(len(stack.sandbox.delivered(f"app:{u}")) == 1 for u in users)
    assert len(stack.sandbox.delivered("app:lishifu")) == 30 and stack.sandbox.state.dropped == []
    [held] = [o for o in await stack.outbox() if o.status == "pending"]
    assert held.pace_key.endswith("lishifu") and held.next_attempt_at > stack.clock.now()


async def test_hourly_limit_is_honoured(stack, monkeypatch):
    """The hour's allowance binds before the minute's. Shown at a tenth of WeCom's figure: the
    bot's table (``bot.outbox.PACING``) and the sandbox's model of WeCom are both lowered from
    1,000 to 100 an hour — the same 3,600 s window, the same 30 a minute, the same code — so
    the hour binds after 4 minutes' sends instead of 34 (1,000 sends one at a time took 8 s
    on SQLite, 14 s on PostgreSQL). The real figures are pinned first."""
    from bot.outbox import PACING
    from bot.sandbox.state import RATE_LIMITS

    assert PACING["message/send"] == RATE_LIMITS["app"] == ((60, 30), (3600, 1000))
    monkeypatch.setitem(PACING, "message/send", ((60, 30), (3600, 100)))
    monkeypatch.setitem(RATE_LIMITS, "app", ((60, 30), (3600, 100)))
    for minute in range(4):
        await enqueue(stack, "lishifu", 30, start=minute * 30)
        await stack.settle()
        stack.clock.advance(seconds=60)
    # 4 minutes × 30 = 120 queued; 100 accepted an hour (at this scale): 20 wait for the hour.
    assert len(stack.sandbox.delivered("app:lishifu")) == 100
    assert stack.sandbox.state.dropped == []
    stack.clock.advance(seconds=3600)  # the hour has passed: the 20 held go, in order
    await stack.settle()
    got = [ln.content for ln in stack.sandbox.delivered("app:lishifu")]
    assert got == [f"m{i}" for i in range(120)] and stack.sandbox.state.dropped == []


async def test_system_failure_is_retried_later_then_sent(stack):
    stack.sandbox.fail("message/send", errcode=-1, times=4)  # beats the client's own 3 retries
    await enqueue(stack, "lishifu", 1)
    await stack.settle()
    [row] = await stack.outbox()
    assert row.status == "pending" and row.attempts == 1 and "errcode=-1" in row.last_error
    stack.clock.advance(seconds=3)
    await stack.settle()
    [row] = await stack.outbox()
    assert row.status == "sent" and row.result["errcode"] == 0
    assert [ln.content for ln in stack.sandbox.delivered("app:lishifu")] == ["m0"]


async def test_non_retryable_failure_is_parked_for_a_person(stack, caplog):
    stack.sandbox.fail("message/send", errcode=81013)
    await enqueue(stack, "ghost", 1)
    with caplog.at_level("ERROR", logger="bot.sender"):
        await stack.settle()
    [row] = await stack.outbox()
    assert row.status == "parked" and "81013" in row.last_error
    assert any("needs a person" in r.getMessage() for r in caplog.records)


async def test_aibot_replies_merge_into_the_single_response_url_call():
    ev = Event("aibot", "message", "text", "u", "aibot:g:c", "k",
               {"response_url": "http://sandbox/aibot/response/1"}, id=5)
    rows = reply_rows(ev, [Outgoing(text="一"), Outgoing(text="二")], agent_id=1, now=None)
    assert len(rows) == 1
    assert rows[0]["payload"]["body"]["markdown"]["content"] == "一\n\n二"


async def test_idempotency_key_prevents_double_enqueue(stack):
    await enqueue(stack, "lishifu", 2)
    await enqueue(stack, "lishifu", 2)
    assert len(await stack.outbox()) == 2


async def test_operator_lists_and_retries_parked_messages(stack, tmp_path):
    """``python main.py parked`` shows what needs a person; ``retry outbox ID`` sends it again."""
    import asyncio
    import sys

    from tests.conftest import ROOT, TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN

    stack.sandbox.fail("message/send", errcode=48002)  # no permission: parked at once
    await enqueue(stack, "lishifu", 1)
    await stack.settle()
    [row] = await stack.outbox()
    env = {"WECOM_CORP_ID": TEST_CORP_ID, "WECOM_AGENT_ID": "218", "WECOM_SECRET": TEST_SECRET,
           "WECOM_TOKEN": TEST_TOKEN, "WECOM_AES_KEY": TEST_AES_KEY,
           "DATABASE_URL": stack.bot.settings.DATABASE_URL, "PATH": "/usr/bin:/bin"}

    async def main_py(*argv: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "main.py"), *argv, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode()

    code, out = await main_py("parked")
    assert code == 0 and f"outbox {row.id}" in out and "48002" in out
    assert await main_py("retry", "outbox", str(row.id)) == (0, f"outbox {row.id}: queued again\n")
    assert (await main_py("retry", "outbox", str(row.id)))[0] == 1  # no longer parked
    await stack.settle()  # the person granted the permission; WeCom accepts it now
    [row] = await stack.outbox()
    assert row.status == "sent"
    assert [ln.content for ln in stack.sandbox.delivered("app:lishifu")] == ["m0"]


async def test_a_rounds_sends_are_marked_sent_in_shared_transactions(stack, monkeypatch):
    """Each mark its own write transaction made a round of N sends take N turns at the SQLite
    gate, between the worker's batches. The marks of a round now share transactions."""
    import bot.sender
    from models.tables import OutboxMessage

    opened = 0
    real = bot.sender.write_session

    def counting(*a, **kw):
        nonlocal opened
        opened += 1
        return real(*a, **kw)

    monkeypatch.setattr(bot.sender, "write_session", counting)
    users = [f"u{i}" for i in range(20)]
    for u in users:
        await enqueue(stack, u, 1)
    assert await stack.bot.sender.run_once() == 20
    assert all(len(stack.sandbox.delivered(f"app:{u}")) == 1 for u in users)
    rows = await stack.rows(OutboxMessage)
    assert [r.status for r in rows] == ["sent"] * 20 and all(r.sent_at for r in rows)
    # The claim, then the marks: 1 + 20 before; 1 + 2-3 seen here (each transaction takes the
    # marks of the calls that finished while the previous one wrote). Bounded loosely so a
    # loaded machine, where calls finish further apart, does not fail it.
    assert opened <= 1 + len(users) // 2


async def test_a_mark_that_cannot_be_written_does_not_undo_the_others(stack, monkeypatch):
    import bot.sender
    from models.tables import OutboxMessage

    real = bot.sender.outbox_mark_sent

    async def refusing(session, marks, now):
        if any(msg_id == 3 for msg_id, _ in marks):
            raise RuntimeError("disk said no")
        await real(session, marks, now)

    monkeypatch.setattr(bot.sender, "outbox_mark_sent", refusing)
    for u in ("a", "b", "c", "d", "e"):
        await enqueue(stack, u, 1)
    with pytest.raises(RuntimeError):
        await stack.bot.sender.run_once()
    rows = {r.id: r for r in await stack.rows(OutboxMessage)}
    assert [i for i, r in rows.items() if r.status == "sent"] == [1, 2, 4, 5]
    assert rows[3].status != "sent" and rows[3].lease_until is not None  # taken again later


async def test_a_round_whose_pacing_read_fails_hands_its_rows_back_unattempted(stack,
                                                                               monkeypatch):
    """A database error in the round's pacing read: nothing was attempted, so nothing comes
    back as "outcome unknown" after the lease — an at-most-once 微信客服 notice goes at the next
    round instead of being parked."""
    await queue_kf_progress(stack, "师傅已出发")
    await enqueue(stack, "lishifu", 1)

    async def failing(*_args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(stack.bot.sender.pace, "until", failing)
    with pytest.raises(RuntimeError):
        await stack.bot.sender.run_once()
    assert [o.lease_until for o in await stack.outbox()] == [None, None]
    monkeypatch.undo()
    stack.clock.advance(seconds=120)  # past a lease, had one been left
    await stack.settle()
    assert stack.sandbox.delivered("kf:wmCUSTOMER")[0].content == "师傅已出发"
    assert len(stack.sandbox.delivered("app:lishifu")) == 1
    assert [o.status for o in await stack.outbox()] == ["sent", "sent"]
