"""Routers, filters, middlewares and the one dispatch entry, ``Dispatcher`` (the worker's feed).

Modelled on aiogram's routers and Slack Bolt's listeners: a handler is a small async function
registered with a decorator; its filters decide whether it runs and may hand it values; any
other parameter annotated with a registered service type receives that service
(``handlers.services``)::

    router = Router("intake")

    @router.message(msgtype="text")
    async def on_text(ctx: Context, cfg: IntakeConfig) -> None: ...

    @router.card(prefix="dispatch:")          # the button key after the prefix → ``key``
    async def on_dispatch(ctx: Context, key: str) -> None: ...

Each event goes through two steps (``bot.worker.Feed``):

* ``prepare`` — outside the database transaction: the shared understanding of a message (text
  analysis, once per event, ``ctx.turn``) and each matching handler's own ``prepare`` (network
  and database reads), whose values reach that handler only.
* ``handle`` — inside the event's transaction: the middlewares, then the first matching handler
  in router order (a handler may pass with ``SkipHandler``) — except for internal events
  (``ctx.emit``), which every matching handler receives.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from handlers.services import Services
from models.cards import card_code_claim
from models.keys import internal_dedupe_key
from models.messages import INTERNAL, TIMER, Event, Handled, Outgoing
from scheduler.clock import Clock

log = logging.getLogger("handlers")

HandlerFunc = Callable[..., Awaitable[None]]
#: a filter sees the event and the shared understanding of it (``Turn`` or None); a dict it
#: returns is handed to the handler as keyword arguments
Filter = Callable[[Event, Any], "bool | dict[str, Any] | None"]
Prepare = Callable[..., Awaitable[dict[str, Any]]]
Understand = Callable[[Event, Services, Clock], Awaitable[Any]]


class SkipHandler(Exception):
    """Raised by a handler that, on a closer look, is not the one for this event (a staff
    command from someone who is not staff …): the next matching handler runs instead, as with
    aiogram's ``SkipHandler``. Raise it before changing anything."""


@dataclass
class Context:
    """Everything a handler may use. ``session`` is the event's one database transaction;
    ``turn`` the shared understanding of a message (None for events and timers)."""

    event: Event
    session: Any  # AsyncSession
    clock: Clock
    services: Services = field(default_factory=Services)
    turn: Any = None
    outgoing: list[Outgoing] = field(default_factory=list)
    emitted: list[Event] = field(default_factory=list)

    def reply(self, text: str) -> None:
        """Answer the conversation the event came from (channel-appropriate, via the outbox)."""
        self.outgoing.append(Outgoing(text=text))

    def send_to(self, user: str, text: str = "", *, card: dict[str, Any] | None = None) -> None:
        """Send to an app member (technician, manager …) rather than back into the chat."""
        self.outgoing.append(Outgoing(text=text, card=card, to_user=user))

    def send_to_kf(self, open_kfid: str, external_userid: str, text: str, *,
                   at_most_once: bool = False) -> None:
        """Send to a 微信客服 customer outside their own conversation's event. ``at_most_once``:
        a notice better lost than repeated if the send's outcome is unknown (bot/outbox.py)."""
        self.outgoing.append(Outgoing(text=text, to_kf=(open_kfid, external_userid),
                                      at_most_once=at_most_once))

    def post_to_group(self, robot_key: str, text: str) -> None:
        """Post ``text`` into a group through its 消息推送 robot (at most once: a second copy
        in a group is worse than a gap, bot/outbox.py)."""
        self.outgoing.append(Outgoing(text=text, to_webhook=robot_key))

    async def update_card(self, label: str | None = None, *, card: dict[str, Any] | None = None,
                          task_id: str | None = None, user: str | None = None,
                          fallback: str = "") -> bool:
        """Show ``label`` instead of a card's buttons, or replace the whole ``card``: the
        clicked card by default, else ``user``'s card ``task_id``.

        Spends the card's newest unused response_code (each works once, within 72 h
        [doc 94888]; models/cards.py keeps them). With no code left, ``user`` gets
        ``fallback`` as a text message instead of a wrong card. True if the card itself will
        be updated.
        """
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
        self.emitted.append(Event(INTERNAL, "event", type, "", conversation_key,
                                  internal_dedupe_key(self.event, len(self.emitted)), payload))


@dataclass
class Handler:
    func: HandlerFunc
    filters: list[Filter]
    name: str
    prepare: Prepare | None = None  # reads before the event's transaction opens

    def match(self, event: Event, turn: Any = None) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {}
        for f in self.filters:
            got = f(event, turn)
            if not got:
                return None
            if isinstance(got, dict):
                kwargs.update(got)
        return kwargs

    @staticmethod
    def injected(func: Callable[..., Any], given: dict[str, Any],
                 services: Services) -> dict[str, Any]:
        """``given`` values for ``func``'s parameters, and services for those annotated with a
        registered type."""
        out: dict[str, Any] = {}
        for name, kind in _parameters(func):
            if name in given:
                out[name] = given[name]
            elif isinstance(kind, type) and kind in services:
                out[name] = services[kind]
        return out


@lru_cache(maxsize=None)
def _parameters(func: Callable[..., Any]) -> tuple[tuple[str, Any], ...]:
    """``func``'s parameters after the first, with their annotated types (resolved once)."""
    hints = typing.get_type_hints(func)
    return tuple((name, hints.get(name)) for name in list(inspect.signature(func).parameters)[1:])


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
        filters: list[Filter] = [lambda e, t: e.kind == "message"]
        if msgtype:
            types = (msgtype,) if isinstance(msgtype, str) else msgtype
            filters.append(lambda e, t: e.type in types)
        if channel:
            chans = (channel,) if isinstance(channel, str) else channel
            filters.append(lambda e, t: e.channel in chans)
        if when:
            filters.append(when)
        return self._register(filters)

    def event(self, name: str | tuple[str, ...], *, channel: str | tuple[str, ...] | None = None,
              prepare: Prepare | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
        """``prepare(event, …services)`` may do network reads; its dict arrives as arguments."""
        names = (name,) if isinstance(name, str) else name
        filters: list[Filter] = [lambda e, t: e.kind == "event" and e.type in names]
        if channel:
            chans = (channel,) if isinstance(channel, str) else channel
            filters.append(lambda e, t: e.channel in chans)
        return self._register(filters, prepare)

    def timer(self, kind: str, *,
              prepare: Prepare | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
        """A durable timer of ``kind`` fired (see scheduler/timers.py); its payload is ``data``.
        ``prepare(event, …services)`` may read first, as for ``event``."""

        def f(e: Event, t: Any) -> dict[str, Any] | None:
            if e.channel != TIMER or e.type != kind:
                return None
            return {"data": e.payload.get("data", {}), "timer_key": e.payload.get("timer_key")}

        return self._register([f], prepare)

    def card(self, *, prefix: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """A card click whose button key starts with ``prefix``; the rest arrives as ``key``."""

        def f(e: Event, t: Any) -> dict[str, Any] | None:
            card = e.card
            if e.type != "template_card_event" or not card:
                return None
            k = card.get("event_key", "")
            return {"key": k[len(prefix):]} if k.startswith(prefix) else None

        return self._register([f])


Middleware = Callable[[Event, Context, Callable[[], Awaitable[bool]]], Awaitable[bool]]


@dataclass
class Prepared:
    """What ``Dispatcher.prepare`` found before the transaction: the shared understanding of
    the event, and each matching handler's own prepared values (by handler name)."""

    turn: Any = None
    by_handler: dict[str, dict[str, Any]] = field(default_factory=dict)


class Dispatcher:
    """The one entry point (``bot.worker.Feed``). Knows nothing of HTTP, WeCom crypto or the
    inbox table."""

    def __init__(self, routers: list[Router], middlewares: list[Middleware] | None = None, *,
                 services: Services | None = None, clock: Clock | None = None,
                 understand: Understand | None = None) -> None:
        self.routers = routers
        self.middlewares = middlewares or []
        self.services = services or Services()
        self.clock = clock
        self.understand = understand

    def _matches(self, event: Event, turn: Any = None) -> Iterator[tuple[Handler, dict[str, Any]]]:
        for router in self.routers:
            for h in router.handlers:
                kwargs = h.match(event, turn)
                if kwargs is not None:
                    yield h, kwargs

    def resolve(self, event: Event, turn: Any = None) -> tuple[Handler, dict[str, Any]] | None:
        return next(self._matches(event, turn), None)

    async def prepare(self, event: Event) -> Prepared:
        """Outside the transaction: understand the event once, then run the ``prepare`` step
        of every handler that may take it (each handler gets only its own results)."""
        out = Prepared()
        if self.understand is not None:
            out.turn = await self.understand(event, self.services, self.clock)
        for handler, _ in self._matches(event, out.turn):
            if handler.prepare is not None:
                out.by_handler[handler.name] = await handler.prepare(
                    event, **handler.injected(handler.prepare, {}, self.services))
        return out

    async def handle(self, event: Event, session: Any, prepared: Prepared | None) -> Handled:
        """Inside the event's transaction: run it through the middlewares and its handler."""
        prepared = prepared or Prepared()
        ctx = Context(event, session, self.clock, self.services, turn=prepared.turn)
        await self.feed(event, ctx, prepared)
        return Handled(ctx.outgoing, ctx.emitted)

    async def feed(self, event: Event, ctx: Context, prepared: Prepared | None = None) -> bool:
        """Run ``event`` through the middlewares and its handler. True if a handler ran."""
        prepared = prepared or Prepared(turn=ctx.turn)

        async def call_handler() -> bool:
            # Internal events (ticket_created, ticket_resolved …) are news several features
            # act on: every matching handler runs, in router order. Anything else is answered
            # by the first matching handler that does not skip it.
            ran = False
            for handler, kwargs in self._matches(event, ctx.turn):
                given = {**kwargs, **prepared.by_handler.get(handler.name, {})}
                try:
                    await handler.func(ctx, **handler.injected(handler.func, given,
                                                                ctx.services))
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
