"""The ticket lifecycle in one place: the table of legal transitions and ``transition()``.

::

    new ─▶ dispatched ─▶ accepted ─▶ in_progress ─▶ resolved ─▶ closed
     │     (offered to     │ ▲ (a technician  (出发 … 到达)   (完工)  │
     │      technicians)   │ │  took it)         │                  ▼
     │        │  ▲         ▼ │                   ▼              reopened ─▶ dispatched | accepted
     │        ▼  │   pending_customer (returns to the state it came from)
     ▼        ▼
    cancelled  (from new, dispatched, accepted, pending_customer)

``new → in_progress``: a ticket nobody dispatches (a complaint, a return …) when its workflow's
first task starts (handlers/workflow/nodes.py).
``accepted → dispatched`` is a technician handing a job back: it is offered again.
Every change writes a ``TicketEvent`` in the same transaction. The ticket row carries a version
(``UPDATE … WHERE id = ? AND version = ?``): a concurrent change raises ``TicketConflict``.
Errors carry an English message (``str(err)``, for logs) and a Chinese one (``err.chat``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from handlers import voice
from models.ticketing import snapshot
from models.tickets import Ticket, TicketEvent

STATUSES: Final[tuple[str, ...]] = ("new", "dispatched", "accepted", "in_progress",
                                    "pending_customer", "resolved", "closed", "cancelled",
                                    "reopened")
#: legal moves; pending_customer's way back is to the state it came from (``BACK``)
BACK: Final = "<back>"
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "new": frozenset({"dispatched", "in_progress", "cancelled"}),
    "dispatched": frozenset({"accepted", "pending_customer", "cancelled"}),
    "accepted": frozenset({"in_progress", "dispatched", "pending_customer", "cancelled"}),
    "in_progress": frozenset({"resolved", "pending_customer"}),
    "pending_customer": frozenset({BACK, "cancelled"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"dispatched", "accepted"}),
    "cancelled": frozenset(),
}
PENDING_FROM: Final = frozenset({"accepted", "dispatched", "in_progress"})


class LifecycleError(Exception):
    """``str(err)`` is English for logs; ``err.chat`` is what to tell the user."""

    chat: str = ""


class IllegalTransition(LifecycleError):
    def __init__(self, ticket: Ticket, to: str) -> None:
        self.number, self.frm, self.to = ticket.number, ticket.status, to
        super().__init__(f"ticket {ticket.number}: illegal transition {ticket.status} -> {to}")
        self.chat = voice.ILLEGAL_TRANSITION.get(to, voice.ILLEGAL_TRANSITION_DEFAULT).format(
            number=ticket.number, status=voice.STATUS_NAMES.get(ticket.status, ticket.status),
            to=voice.STATUS_NAMES.get(to, to))


class TicketConflict(LifecycleError):
    def __init__(self, ticket_number: str) -> None:
        self.number = ticket_number
        super().__init__(f"ticket {ticket_number}: changed concurrently (stale version)")
        self.chat = voice.TICKET_CONFLICT.format(number=ticket_number)


def allowed(frm: str, to: str, *, came_from: str | None = None) -> bool:
    """Whether ``frm → to`` is legal (``came_from``: the state before pending_customer)."""
    moves = TRANSITIONS.get(frm, frozenset())
    if to in moves:
        return not (to == "pending_customer" and frm not in PENDING_FROM)
    return BACK in moves and came_from is not None and to == came_from


def can_transition(ticket: Ticket, to: str) -> bool:
    return allowed(ticket.status, to, came_from=ticket.status_before_pending)


async def flush_versioned(session: AsyncSession, ticket: Ticket) -> None:
    """Flush a ticket change; a stale version becomes ``TicketConflict``."""
    number = ticket.number  # read before: after a failed flush the session must roll back
    try:
        await session.flush()
    except StaleDataError:
        raise TicketConflict(number) from None


async def transition(session: AsyncSession, ticket: Ticket, to: str, *, actor: str,
                     reason: str | None = None, now: datetime) -> Ticket:
    """Move ``ticket`` to ``to`` and audit it, or raise without changing anything."""
    if to not in STATUSES:
        raise ValueError(f"unknown status {to!r}")
    if not can_transition(ticket, to):
        raise IllegalTransition(ticket, to)
    before = snapshot(ticket)
    frm = ticket.status
    ticket.status = to
    if to == "pending_customer":
        ticket.status_before_pending = frm
    elif frm == "pending_customer":
        ticket.status_before_pending = None
    if to == "resolved":
        ticket.resolved_at = now
    if to == "closed":
        ticket.closed_at = now
    if to == "accepted" and ticket.accepted_at is None:
        ticket.accepted_at = now
    if to == "reopened":
        ticket.resolved_at = ticket.closed_at = None
    ticket.updated_at = now
    await flush_versioned(session, ticket)
    if frm == "resolved":
        # However it leaves resolved (the customer's 确认, the workflow's close node, a reopen),
        # the customer's 确认 no longer awaits it: left waiting, it would take their 确认 of a
        # statement (handlers/arbitration.py). Imported here: intake imports this module.
        from handlers.intake.base import COMPLETION, OWNER
        from models.conversation import settle

        await settle(session, owner=OWNER, kind=COMPLETION, ref=ticket.id)
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action=f"status:{to}",
                            before=before, after=snapshot(ticket), reason=reason, at=now))
    await session.flush()
    return ticket


async def change(session: AsyncSession, ticket: Ticket, *, actor: str, action: str,
                 now: datetime, reason: str | None = None, **values: object) -> Ticket:
    """Change other audited fields (priority, satisfaction …) with the same guarantees."""
    before = snapshot(ticket)
    for k, v in values.items():
        setattr(ticket, k, v)
    ticket.updated_at = now
    await flush_versioned(session, ticket)
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action=action, before=before,
                            after=snapshot(ticket), reason=reason, at=now))
    await session.flush()
    return ticket
