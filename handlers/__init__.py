"""Use cases, one folder per feature. ``build_dispatcher`` declares the routers and the
middlewares, in order: a new feature is one folder plus one line in ``ROUTERS``."""

from __future__ import annotations

import time
from typing import Any

from handlers.arbitration import arbiter
from handlers.routing import Context, Dispatcher, Router
from handlers.services import Services
from handlers.understanding import understand
from models.cards import remember_click_code
from scheduler.clock import Clock


def routers() -> list[Router]:
    """Who may take an event, in order (the first that takes a message answers it; every one
    subscribed to an internal event hears it)."""
    from handlers.basic.router import router as basic
    from handlers.dispatch.router import router as dispatch
    from handlers.intake.router import router as intake
    from handlers.kf.router import router as kf
    from handlers.settlement.router import router as settlement
    from handlers.workflow.router import router as workflow

    from handlers.sla.router import router as sla  # first: clocks settle before settlement prices

    from handlers.board.router import router as board  # its own timers only (webhooks, export)
    # before dispatch: a new ticket's history and floor are on it when the offer card is built
    from handlers.customers.router import router as customers
    from handlers.upkeep.router import router as upkeep  # its own timer only (retention)

    return [sla, kf, customers, settlement, workflow, dispatch, intake, basic, board, upkeep]


def build_dispatcher(services: Services, clock: Clock, metrics: Any = None,
                     extra_routers: list[Router] | None = None) -> Dispatcher:

    async def timing(event, ctx: Context, nxt):
        """Handler latency per event type, for /metrics."""
        started = time.perf_counter()
        outcome = "error"
        try:
            handled = await nxt()
            outcome = "handled" if handled else "unhandled"
            return handled
        finally:
            if metrics is not None:
                metrics.handler_latency.labels(event.type, outcome).observe(
                    time.perf_counter() - started)

    async def card_codes(event, ctx: Context, nxt):
        """A click brings a fresh response_code for its card [doc 94888]: keep it, so the
        card can be updated once, by whichever handler decides to."""
        await remember_click_code(ctx.session, event, ctx.clock.now())
        return await nxt()

    # Errors are recorded by the worker around feed(); dedupe happened at the inbox's unique key;
    # the database session is opened per event by the worker, so feed stays HTTP- and DB-agnostic.
    # Short replies (确认, 取消 …) get their owner from what the conversation awaits.
    middlewares = [timing, card_codes, arbiter]
    return Dispatcher([*(extra_routers or []), *routers()], middlewares, services=services,
                      clock=clock, understand=understand)
