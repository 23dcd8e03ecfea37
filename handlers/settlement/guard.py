"""The promotion guard over the database (on ``ticket_cancelled``): the cancellations of the
last ``guard.window_days`` go through the engine's ``evaluate_guard``; a newly frozen address or
region is stored in ``promotion_freeze`` and every manager is told, once. Quotes then pass the
freezes that apply to a ticket to the engine (``pricing.price``)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from handlers.routing import Context
from handlers.settlement import texts
from handlers.settlement.announce import tell_staff
from handlers.settlement.config import Guard
from handlers.settlement.engine.guard import CancelEvent, evaluate_guard
from handlers.settlement.mapping import address_key
from models.regions import region_name
from models.settlement import cancellations_since, freeze_add
from models.ticketing import region_code_of

log = logging.getLogger("handlers.settlement.guard")


async def guard_promotions(ctx: Context, g: Guard) -> None:
    """Promotion guard over the database's cancellations of the last ``window_days``."""
    now = ctx.clock.now()
    events = []
    for t, site, at in await cancellations_since(ctx.session, now - timedelta(days=g.window_days)):
        if address := address_key(t):
            events.append(CancelEvent(address, region_code_of(t, site) or "", at))
    decision = evaluate_guard(events, max_events=g.max_events, window_days=g.window_days,
                              region_threshold=g.region_threshold)
    counts = Counter(e.address for e in events)
    region_of = {e.address: e.region for e in events}
    for address, why in decision.addresses:
        if await freeze_add(ctx.session, scope="address", value=address,
                            region=region_of[address], events=counts[address], reason=why,
                            now=now):
            log.warning("promotions frozen for address %r: %s", address, why)
            await tell_staff(ctx, ("manager",), texts.SETTLE_GUARD_ADDRESS.format(
                address=address, days=g.window_days, count=counts[address],
                limit=g.max_events))
    frozen_per_region = Counter(region_of[a] for a, _ in decision.addresses)
    for region, why in decision.regions:
        if region and await freeze_add(ctx.session, scope="region", value=region, region=region,
                                       events=frozen_per_region[region], reason=why, now=now):
            log.warning("promotions frozen for region %s: %s", region, why)
            await tell_staff(ctx, ("manager",), texts.SETTLE_GUARD_REGION.format(
                region=await region_name(ctx.session, region), count=frozen_per_region[region],
                threshold=g.region_threshold))
