"""Who owns a workflow node or an approval step, from its rule (``role:service``,
``department:质检部``, ``tag:…``, ``store_duty``, ``dispatcher``, ``reporter``).

``store_duty`` is the ticket's store's duty manager: staff with role ``store_manager`` whose
``stores`` list the ticket's store and who are on shift now (any of them when none is); a store
nobody manages falls to the dispatcher on duty, so a ticket is never left without an owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.dispatch.base import ESCALATE_TO
from handlers.dispatch.engine.shifts import WeeklySchedule
from handlers.dispatch.engine.specs import shifts_from
from handlers.dispatch.pool import ALWAYS
from models.ticketing import first_staff_with, may_hold
from models.tickets import Staff, Ticket


ROLE_NAMES = {"technician": "师傅", "dispatcher": "调度", "supervisor": "主管", "manager": "经理",
              "finance": "财务", "director": "技术总监", "store_manager": "店长", "service": "客服"}


def rule_label(rule: str) -> str:
    """An owner rule as people say it: 客服, 质检部, 门店值班经理 …"""
    kind, _, value = rule.partition(":")
    if kind == "role":
        return ROLE_NAMES.get(value, value)
    if kind in ("department", "tag"):
        return value
    return {"store_duty": "门店值班经理", "dispatcher": "调度", "reporter": "报单人"}.get(kind, rule)


def _on_shift(people: list[Staff], now: datetime) -> list[Staff]:
    on = [p for p in people if WeeklySchedule.from_windows(
        shifts_from(p.shifts or ALWAYS)).on_shift(now)]
    return on or people


#: an owner rule's kind → the person's list it names a value of
_LISTS = {"role": "roles", "department": "departments", "tag": "tags"}


async def _active_staff(session: AsyncSession, *where: Any) -> list[Staff]:
    return list((await session.execute(select(Staff).where(Staff.active.is_(True), *where)
                                       .order_by(Staff.id))).scalars())


async def owners_of(session: AsyncSession, rule: str, ticket: Ticket,
                    now: datetime) -> tuple[list[str], str]:
    """The userids owning ``rule`` for ``ticket`` now, and a note when the rule's own people
    were not found and someone else stands in (for the audit and the card)."""
    kind, _, value = rule.partition(":")
    if kind == "reporter":
        return ([ticket.reporter] if ticket.reporter else []), ""
    found: list[Staff] = []
    if kind in _LISTS:  # role:service, department:质检部, tag:…
        column = _LISTS[kind]
        found = [s for s in await _active_staff(session, may_hold(getattr(Staff, column), value))
                 if value in (getattr(s, column) or [])]
    elif kind == "store_duty" and ticket.store:
        managers = [s for s in await _active_staff(session, may_hold(Staff.roles, "store_manager"),
                                                    may_hold(Staff.stores, ticket.store))
                    if "store_manager" in (s.roles or []) and ticket.store in (s.stores or [])]
        found = _on_shift(managers, now)
    elif kind == "dispatcher":
        found = _on_shift(await first_staff_with(session, ESCALATE_TO), now)
    if found:
        return [s.userid for s in found], ""
    stand_in = _on_shift(await first_staff_with(session, ESCALATE_TO), now)
    return [s.userid for s in stand_in], f"no one for {rule}; the dispatcher on duty stands in"
