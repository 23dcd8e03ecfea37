"""What all of dispatch's work within one event shares: the event's context, its moment, the
configuration, the audit trail and people's names.

The work is built in layers along its seams, each a class on the one before; a handler in
router.py makes one ``Dispatch`` (steps.py) per event::

    DispatchBase ──▶ Offering   offering.py  placing a job: rank, offer, escalate
                 └─▶ Work       work.py      出发 / 到达 / 完工, distances, the work card
    Offering + Work ──▶ Answers  answers.py   taken, declined, timed out, withdrawn
    Answers ──▶ Handover         handover.py  转派 to a colleague, 指派 by a dispatcher
    Handover ──▶ Dispatch        steps.py     a technician's answer or work-card click

What staff write is read in commands.py, photos and locations in location.py, the technician
pool in pool.py; texts are in texts.py and cards in views.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.dispatch.config import OfferingConfig
from handlers.dispatch import texts
from handlers.dispatch.engine.config import DispatchConfig
from handlers.dispatch.pool import Pool
from handlers.routing import Context
from models.keys import actor
from models.ticketing import staff_by_userid
from models.tickets import Staff, Ticket, TicketEvent

DISPATCHERS = ("dispatcher", "supervisor", "manager")  # who may assign and ask 为什么派给他
ESCALATE_TO = ("dispatcher", "supervisor", "manager")  # the first role anyone has


def is_technician(staff: Staff | None) -> bool:
    """An active member of staff with the technician role (a card key names only those)."""
    return staff is not None and bool(staff.active) and "technician" in (staff.roles or [])


class DispatchBase:
    def __init__(self, ctx: Context, pool: Pool | None = None) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.now: datetime = ctx.clock.now()
        self.offering = ctx.services[OfferingConfig]
        self.scoring = ctx.services[DispatchConfig]
        self.actor = actor(ctx.event.channel, ctx.event.sender) if ctx.event.sender else "dispatch"
        self.prepared = pool  # read in the handler's prepare step (pool.py), or None
        self._pool: Pool | None = None  # the pool as this transaction sees it, once read

    async def name_of(self, userid: str | None, *, for_customer: bool = False) -> str:
        """Staff see a name or else the userid; customers a name or else 师傅 (a userid is
        often a mobile number)."""
        if not userid:
            return ""
        s = await staff_by_userid(self.session, userid)
        if s is not None and s.name:
            return s.name
        return texts.TECHNICIAN_FALLBACK_NAME if for_customer else userid

    def audit(self, ticket: Ticket, action: str, after: dict[str, Any]) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, actor=self.actor, action=action,
                                     after=after, at=self.now))
