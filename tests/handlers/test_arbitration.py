"""Who owns a short reply, decided from what awaits the person (handlers/arbitration.py), and
the shared understanding worked out once, before the transaction (handlers/understanding.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.arbitration import PRECEDENCE, arbitrate
from handlers.intake.config import load_intake_config
from handlers.routing import Context, Dispatcher, Router, SkipHandler
from handlers.services import Services
from handlers.understanding import Turn, reply_word, understand
from models.conversation import expect
from models.db import make_engine, make_sessionmaker
from models.messages import Event
from nlp.staff_commands import parse_staff_command
from scheduler.clock import ManualClock

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def turn(text: str, *, command: bool = False) -> Turn:
    cfg = load_intake_config()
    return Turn(raw=text, text=text, group=False, addressed=True, word=reply_word(text, cfg),
                bill=None, command=parse_staff_command(text) if command else None,
                ticket_no=None, analysis=None)


@pytest.fixture
async def session(db_url):
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as s, s.begin():
        yield s
    await engine.dispose()


async def owner_of(session, t: Turn, sender: str = "zhangsan") -> str | None:
    ev = Event("app", "message", "text", sender, f"app:{sender}", "k", {"text": t.raw}, 1)
    ctx = Context(ev, session, ManualClock(NOW), turn=t)
    await arbitrate(ctx)
    return t.owner


async def wait(session, kind: str, owner: str, ref: int, person: str = "zhangsan",
               conversation: str | None = None) -> None:
    await expect(session, person=person, owner=owner, kind=kind, ref=ref, now=NOW,
                 conversation_key=conversation, expires_at=NOW + timedelta(hours=1))


async def test_nothing_awaited_means_no_owner(session):
    assert await owner_of(session, turn("确认")) is None


async def test_a_bare_confirm_goes_to_the_statement_when_only_a_statement_awaits(session):
    await wait(session, "statement", "settlement", 5)
    assert await owner_of(session, turn("确认")) == "settlement"
    assert await owner_of(session, turn("取消")) is None  # settlement takes only 确认


async def test_a_completion_waiting_for_confirm_wins_over_its_statement(session):
    await wait(session, "statement", "settlement", 5)
    await wait(session, "completion", "intake", 9)
    assert await owner_of(session, turn("确认")) == "intake"


async def test_a_draft_in_this_conversation_takes_every_reply_word(session):
    await wait(session, "statement", "settlement", 5)
    await wait(session, "draft", "intake", 1, conversation="app:zhangsan")
    for word in ("确认", "修改", "取消"):
        assert await owner_of(session, turn(word)) == "intake"


async def test_a_draft_elsewhere_does_not_take_it(session):
    await wait(session, "statement", "settlement", 5)
    await wait(session, "draft", "intake", 1, conversation="aibot:u:zhangsan")
    assert await owner_of(session, turn("确认")) == "settlement"


async def test_work_details_go_to_the_job_that_awaits_them(session):
    assert await owner_of(session, turn("工时1.5小时", command=True), "lishifu") is None
    await wait(session, "work_report", "dispatch", 42, person="lishifu")
    t = turn("工时1.5小时", command=True)
    assert await owner_of(session, t, "lishifu") == "dispatch" and t.awaiting.ref == 42


def test_the_precedence_table_is_the_documented_one():
    assert [k for k, _ in PRECEDENCE] == ["draft", "part_prices", "work_report", "completion",
                                          "statement"]


async def test_understanding_runs_once_before_the_transaction_and_every_handler_sees_it():
    """The analysis happens in prepare (no session yet) once per event; a handler that skips
    passes the same turn on; each prepare step's values reach only its own handler."""
    calls = []

    class CountingAnalyzer:
        def analyze(self, text, now):
            calls.append(text)
            return "analysis"

    from nlp.analyzer import Analyzer

    services = Services(load_intake_config())
    services.add(CountingAnalyzer(), as_type=Analyzer)
    seen = []
    a, b = Router("a"), Router("b")

    async def prep_a(event):
        return {"value": "a's"}

    @a.event("x", prepare=prep_a)
    async def first(ctx, value):
        seen.append(("a", value, ctx.turn))
        raise SkipHandler

    @b.event("x")
    async def second(ctx, value="none"):
        seen.append(("b", value, ctx.turn))

    d = Dispatcher([a, b], services=services, clock=ManualClock(NOW), understand=understand)
    text = Event("app", "message", "text", "u", "app:u", "k", {"text": "咖啡机坏了"})
    prepared = await d.prepare(text)
    assert calls == ["咖啡机坏了"] and prepared.turn.analysis == "analysis"
    ev = Event("app", "event", "x", "u", "app:u", "k2", {})
    prepared = await d.prepare(ev)
    await d.handle(ev, None, prepared)
    assert seen == [("a", "a's", None), ("b", "none", None)]  # b never gets a's prepared value
    assert calls == ["咖啡机坏了"]  # events are not analysed
