"""The offers a placement counts against technicians' capacity (models/dispatch.py
``pending_offers``): those awaiting one technician's answer — direct offers and a colleague's
转派 — not 抢单 broadcasts nor hand assignments, nor offers already answered; on SQLite and
PostgreSQL, including the placing transaction's own."""

from __future__ import annotations

from datetime import UTC, datetime

from models.db import write_session
from models.dispatch import DispatchJob, Offer, pending_offers
from models.tickets import Customer, Ticket

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def test_only_offers_awaiting_one_technicians_answer_count(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        customer = Customer(name="店", created_at=NOW)
        s.add(customer)
        await s.flush()
        ticket = Ticket(number="GD20261125-0001", customer_id=customer.id, title="咖啡机坏了",
                        status="dispatched", created_at=NOW, updated_at=NOW)
        s.add(ticket)
        await s.flush()
        job = DispatchJob(ticket_id=ticket.id, mode="direct", created_at=NOW, updated_at=NOW)
        s.add(job)
        await s.flush()

        def offer(who: str, mode: str, status: str = "offered") -> Offer:
            return Offer(job_id=job.id, ticket_id=ticket.id, technician=who, mode=mode,
                         status=status, offered_at=NOW)

        s.add_all([offer("li", "direct"), offer("li", "direct"), offer("li", "transfer"),
                   offer("zhou", "grab"), offer("zhou", "manual", "accepted"),
                   offer("wang", "direct", "declined"), offer("wang", "direct", "timed_out"),
                   offer("zhao", "transfer", "transferred"), offer("sun", "grab", "lost")])
        await s.flush()
        assert await pending_offers(s) == {"li": 3}  # this transaction's own, not committed
        s.add(offer("zhou", "direct"))
    async with sm() as s:
        assert await pending_offers(s) == {"li": 3, "zhou": 1}
