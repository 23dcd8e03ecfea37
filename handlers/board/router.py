"""The board room's durable timers: the delivery pump (webhooks and SMS, ``webhooks.py``) and
the daily finance export (``finance.py``). Both fire once across replicas (scheduler/timers)."""

from __future__ import annotations

from datetime import timedelta
from handlers.board.collect import collect, pending_deliveries
from handlers.board.config import ApiConfig
from handlers.board.finance import FINANCE_KIND, arm_finance, export_day_before
from handlers.board.webhooks import PUMP_KIND, arm_pump, deliver
from handlers.routing import Context, Router
from handlers.settlement.config import SettlementSetup

router = Router("board")


@router.timer(PUMP_KIND, prepare=deliver)
async def on_pump(ctx: Context, cfg: ApiConfig, sent: int = 0, failed: int = 0) -> None:
    """After sending what was due (prepare): collect new news; run again at once if there is
    some, else in ``poll_seconds`` while webhooks are configured or deliveries wait."""
    now = ctx.clock.now()
    created = await collect(ctx.session, cfg, now)
    if created:
        await arm_pump(ctx.session, now)
    elif cfg.webhooks or await pending_deliveries(ctx.session):
        await arm_pump(ctx.session, now, cfg.poll_seconds)


@router.timer(FINANCE_KIND)
async def on_finance(ctx: Context, cfg: ApiConfig, setup: SettlementSetup) -> None:
    """The previous day's statements to the finance folder, then tomorrow's run."""
    await export_day_before(ctx.session, cfg, ctx.clock.now(), setup)
    await arm_finance(ctx.session, cfg, ctx.clock.now() + timedelta(minutes=1))
