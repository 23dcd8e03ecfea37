"""Use cases. ``build_dispatcher`` declares the routers and the middlewares, in order."""

from __future__ import annotations

import time

from handlers.routing import Context, Dispatcher, Router
from models.cards import card_code_add


def build_dispatcher(metrics=None, extra_routers: list[Router] | None = None) -> Dispatcher:
    from handlers import basic, dispatch, intake, kf, settlement

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
        card = event.card or {}
        if event.channel == "app" and card.get("response_code"):
            await card_code_add(ctx.session, card.get("task_id", ""), event.sender,
                                card["response_code"], "click", ctx.clock.now())
        return await nxt()

    # Errors are recorded by the worker around feed(); dedupe happened at the inbox's unique key;
    # the database session is opened per event by the worker, so feed stays HTTP- and DB-agnostic.
    middlewares = [timing, card_codes]
    routers = [*(extra_routers or []), kf.router, settlement.router, dispatch.router, intake.router,
               basic.router]
    return Dispatcher(routers, middlewares)
