"""Routers, filters, middlewares and the one dispatch entry, ``Dispatcher.feed(event, ctx)``.

Modelled on aiogram's routers and Slack Bolt's listeners: a handler is a small async function
registered with a decorator; its filters decide whether it runs and may hand it values::

    router = Router("intake")

    @router.message(msgtype="text")
    async def on_text(ctx: Context) -> None: ...

    @router.card(prefix="dispatch:")          # the button key after the prefix → ``key``
    async def on_dispatch(ctx: Context, key: str) -> None: ...

The first matching handler in router order runs (a handler may pass with ``SkipHandler``) —
except for internal events (``ctx.emit``), which every matching handler receives. Middlewares wrap every dispatch, in the order declared in
``handlers.build_dispatcher``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.events import Event
from bot.outbox import Outgoing
from scheduler.clock import Clock

log = logging.getLogger("handlers")

HandlerFunc = Callable[..., Awaitable[None]]
INTERNAL = "internal"  # the channel of events handlers raise themselves (``Context.emit``)
Filter = Callable[[Event], "bool | dict[str, Any] | None"]


class SkipHandler(Exception):
    """Raised by a handler that, on a closer look, is not the one for this event (a staff
    command from someone who is not staff …): the next matching handler runs instead, as with
    aiogram's ``SkipHandler``. Raise it before changing anything."""


@dataclass
class Context:
    """Everything a handler may use. ``session`` is the event's one database transaction."""

    event: Event
    session: Any  # AsyncSession
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)  # e.g. "client", "settings"
    outgoing: list[Outgoing] = field(default_factory=list)
    emitted: list[Event] = field(default_factory=list)

    def reply(self, text: str, *, markdown: bool = False) -> None:
        """Answer the conversation the event came from (channel-appropriate, via the outbox)."""
        self.outgoing.append(Outgoing(text=text, markdown=markdown))

    def send_to(self, user: str, text: str = "", *, card: dict[str, Any] | None = None) -> None:
        """Send to an app member (technician, manager …) rather than back into the chat."""
        self.outgoing.append(Outgoing(text=text, card=card, to_user=user))

    def send_to_kf(self, open_kfid: str, external_userid: str, text: str, *,
                   at_most_once: bool = False) -> None:
        """Send to a 微信客服 customer outside their own conversation's event. ``at_most_once``:
        a notice better lost than repeated if the send's outcome is unknown (bot/outbox.py)."""
        self.outgoing.append(Outgoing(text=text, to_kf=(open_kfid, external_userid),
                                      at_most_once=at_most_once))

    async def update_card(self, label: str | None = None, *, card: dict[str, Any] | None = None,
                          task_id: str | None = None, user: str | None = None,
                          fallback: str = "") -> bool:
        """Show ``label`` instead of a card's buttons, or replace the whole ``card``: the
        clicked card by default, else ``user``'s card ``task_id``.

        Spends the card's newest unused response_code (each works once, within 72 h
        [doc 94888]); the click's own code is recorded before handlers run. With no code
        left, ``user`` gets ``fallback`` as a text message instead of a wrong card. True if
        the card itself will be updated.
        """
        from models.cards import card_code_claim

        task_id = task_id or (self.event.card or {}).get("task_id", "")
        user = user or self.event.sender
        code = (await card_code_claim(self.session, task_id, user, self.clock.now())
                if task_id else None)
        if code is None:
            if fallback:
                self.outgoing.append(Outgoing(text=fallback, to_user=user))
            return False
        self.outgoing.append(Outgoing(card_update=label if card is None else None,
                                      card_replace=card, response_code=code, to_user=user))
        return True

    def emit(self, type: str, payload: dict[str, Any], *, conversation_key: str) -> None:
        """Raise an internal event (``ticket_created`` …): stored in the inbox in this event's
        transaction and handled like any other, in order within ``conversation_key``."""
        base = f"evt{self.event.id}" if self.event.id is not None else self.event.dedupe_key
        self.emitted.append(Event(INTERNAL, "event", type, "", conversation_key,
                                  f"internal:{base}:{len(self.emitted)}", payload))


Prepare = Callable[[Event, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class Handler:
    func: HandlerFunc
    filters: list[Filter]
    name: str
    prepare: Prepare | None = None  # network reads, run before the event's transaction opens

    def match(self, event: Event) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {}
        for f in self.filters:
            got = f(event)
            if not got:
                return None
            if isinstance(got, dict):
                kwargs.update(got)
        return kwargs


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[Handler] = []

    def _register(self, filters: list[Filter],
                  prepare: Prepare | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
        def deco(func: HandlerFunc) -> HandlerFunc:
            self.handlers.append(Handler(func, filters, f"{self.name}.{func.__name__}", prepare))
            return func

        return deco

    def message(self, *, msgtype: str | tuple[str, ...] | None = None,
                channel: str | tuple[str, ...] | None = None,
                when: Filter | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
        filters: list[Filter] = [lambda e: e.kind == "message"]
        if msgtype:
            types = (msgtype,) if isinstance(msgtype, str) else msgtype
            filters.append(lambda e: e.type in types)
        if channel:
            chans = (channel,) if isinstance(channel, str) else channel
            filters.append(lambda e: e.channel in chans)
        if when:
            filters.append(when)
        return self._register(filters)

    def event(self, name: str | tuple[str, ...], *, channel: str | tuple[str, ...] | None = None,
              prepare: Prepare | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
        """``prepare(event, services)`` may do network reads; its dict arrives as arguments."""
        names = (name,) if isinstance(name, str) else name
        filters: list[Filter] = [lambda e: e.kind == "event" and e.type in names]
        if channel:
            chans = (channel,) if isinstance(channel, str) else channel
            filters.append(lambda e: e.channel in chans)
        return self._register(filters, prepare)

    def timer(self, kind: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """A durable timer of ``kind`` fired (see scheduler/timers.py); its payload is ``data``."""

        def f(e: Event) -> dict[str, Any] | None:
            if e.channel != "timer" or e.type != kind:
                return None
            return {"data": e.payload.get("data", {}), "timer_key": e.payload.get("timer_key")}

        return self._register([f])

    def card(self, *, prefix: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """A card click whose button key starts with ``prefix``; the rest arrives as ``key``."""

        def f(e: Event) -> dict[str, Any] | None:
            card = e.card
            if e.type != "template_card_event" or not card:
                return None
            k = card.get("event_key", "")
            return {"key": k[len(prefix):]} if k.startswith(prefix) else None

        return self._register([f])


Middleware = Callable[[Event, Context, Callable[[], Awaitable[bool]]], Awaitable[bool]]


class Dispatcher:
    """The one entry point. Knows nothing of HTTP, WeCom crypto or the inbox table."""

    def __init__(self, routers: list[Router], middlewares: list[Middleware] | None = None) -> None:
        self.routers = routers
        self.middlewares = middlewares or []

    def _matches(self, event: Event) -> Iterator[tuple[Handler, dict[str, Any]]]:
        for router in self.routers:
            for h in router.handlers:
                kwargs = h.match(event)
                if kwargs is not None:
                    yield h, kwargs

    def resolve(self, event: Event) -> tuple[Handler, dict[str, Any]] | None:
        return next(self._matches(event), None)

    async def prepare(self, event: Event, services: dict[str, Any]) -> dict[str, Any]:
        """Run the matching handler's ``prepare`` step, if it has one (no database held)."""
        found = self.resolve(event)
        if found is None or found[0].prepare is None:
            return {}
        return await found[0].prepare(event, services)

    async def feed(self, event: Event, ctx: Context,
                   prepared: dict[str, Any] | None = None) -> bool:
        """Run ``event`` through the middlewares and its handler. True if a handler ran."""

        async def call_handler() -> bool:
            # Internal events (ticket_created, ticket_resolved …) are news several features
            # act on: every matching handler runs, in router order. Anything else is answered
            # by the first matching handler that does not skip it.
            ran = False
            for handler, kwargs in self._matches(event):
                kwargs = {**kwargs, **(prepared or {})}
                params = inspect.signature(handler.func).parameters
                try:
                    await handler.func(ctx, **{k: v for k, v in kwargs.items() if k in params})
                except SkipHandler:
                    continue
                ran = True
                if event.channel != INTERNAL:
                    break
            if not ran:
                log.debug("no handler for %s/%s/%s", event.channel, event.kind, event.type)
            return ran

        chain: Callable[[], Awaitable[bool]] = call_handler
        for mw in reversed(self.middlewares):
            chain = (lambda m, nxt: (lambda: m(event, ctx, nxt)))(mw, chain)
        return await chain()
