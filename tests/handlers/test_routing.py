"""The dispatcher's rules: the first matching handler answers (unless it skips), internal
events reach every subscriber, and what handlers emit carries the source event's key."""

from __future__ import annotations

from models.messages import Event
from handlers.routing import Context, Dispatcher, Router, SkipHandler
from scheduler.clock import ManualClock


def _ctx(event: Event) -> Context:
    return Context(event, session=None, clock=ManualClock())


async def test_first_match_answers_and_a_skip_passes_to_the_next():
    calls = []
    a, b, c = Router("a"), Router("b"), Router("c")

    @a.message(msgtype="text")
    async def picky(ctx: Context) -> None:
        if ctx.event.text != "mine":
            raise SkipHandler
        calls.append("a")

    @b.message(msgtype="text")
    async def general(ctx: Context) -> None:
        calls.append("b")

    @c.message(msgtype="text")
    async def never(ctx: Context) -> None:
        calls.append("c")

    d = Dispatcher([a, b, c])
    ev = Event("app", "message", "text", "u", "app:u", "k1", {"text": "mine"})
    assert await d.feed(ev, _ctx(ev)) and calls == ["a"]
    calls.clear()
    ev = Event("app", "message", "text", "u", "app:u", "k2", {"text": "yours"})
    assert await d.feed(ev, _ctx(ev)) and calls == ["b"]


async def test_internal_events_reach_every_subscriber_and_a_skip_is_no_answer():
    calls = []
    a, b = Router("a"), Router("b")

    @a.event("ticket_cancelled", channel="internal")
    async def dispatch_side(ctx: Context) -> None:
        calls.append("dispatch")

    @b.event("ticket_cancelled", channel="internal")
    async def settlement_side(ctx: Context) -> None:
        calls.append("settlement")

    @b.message(msgtype="text")
    async def skips(ctx: Context) -> None:
        raise SkipHandler

    d = Dispatcher([a, b])
    ev = Event("internal", "event", "ticket_cancelled", "", "ticket:1", "k", {"ticket_id": 1})
    assert await d.feed(ev, _ctx(ev)) and calls == ["dispatch", "settlement"]
    text = Event("app", "message", "text", "u", "app:u", "k3", {"text": "x"})
    assert await d.feed(text, _ctx(text)) is False


def test_emitted_events_are_internal_and_keyed_by_their_source():
    ev = Event("app", "message", "text", "u", "app:u", "app:msg:1", {"text": "确认"}, id=42)
    ctx = _ctx(ev)
    ctx.emit("ticket_created", {"ticket_id": 7}, conversation_key="ticket:7")
    ctx.emit("ticket_cancelled", {"ticket_id": 7}, conversation_key="ticket:7")
    assert [(e.channel, e.type, e.dedupe_key, e.conversation_key) for e in ctx.emitted] == [
        ("internal", "ticket_created", "internal:evt42:0", "ticket:7"),
        ("internal", "ticket_cancelled", "internal:evt42:1", "ticket:7")]


async def test_a_timer_handler_gets_what_its_prepare_step_read_and_a_plain_one_still_fires():
    calls = []
    r = Router("t")

    async def read_first(event: Event) -> dict:
        calls.append("prepare")
        return {"found": event.payload["data"]["n"] * 2}

    @r.timer("tick", prepare=read_first)
    async def on_tick(ctx: Context, data: dict, found: int) -> None:
        calls.append(("tick", data, found))

    @r.timer("tock")
    async def on_tock(ctx: Context, data: dict, timer_key: str) -> None:
        calls.append(("tock", data, timer_key))

    d = Dispatcher([r], clock=ManualClock())
    tick = Event("timer", "event", "tick", "", "ticket:1", "timer:1:1",
                 {"timer_key": "offer:1", "data": {"n": 21}})
    await d.handle(tick, None, await d.prepare(tick))
    assert calls == ["prepare", ("tick", {"n": 21}, 42)]
    calls.clear()
    tock = Event("timer", "event", "tock", "", "ticket:1", "timer:2:1",
                 {"timer_key": "grab:1", "data": {"n": 1}})
    await d.handle(tock, None, await d.prepare(tock))
    assert calls == [("tock", {"n": 1}, "grab:1")]
