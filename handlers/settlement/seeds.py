"""The seeds' pricing examples in the sandbox (``config/sandbox/pricing_seeds.yaml``): on start in
sandbox mode each example becomes a completed ticket with its technician's 完工 message as the
work report, and a ``ticket_resolved`` event — settlement prices it like any other ticket and
the statement appears in the customer's and the technician's chats. Added once (a ticket with
the example's title is never added again). The file is checked like every configuration file
(an error names the file, the line and the field)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config_file import CONFIG_DIR, ConfigError, load_yaml_model
from models.dispatch import WorkReport
from models.messages import Event, inbox_row
from models.queues import inbox_insert
from models.ticketing import create_ticket, customer_for
from models.tickets import Site, Ticket, TicketCreate
from nlp.classify import CATEGORIES
from nlp.staff_commands import parse_staff_command

log = logging.getLogger("handlers.settlement.seeds")

SEEDS: Final = CONFIG_DIR / "sandbox" / "pricing_seeds.yaml"
TITLE: Final = "示例·{title}"
#: one conversation for every example, so they are priced in file order (a plan's sale before
#: the work it covers)
CONVERSATION: Final = "sandbox:pricing-seeds"


class SeedError(ConfigError):
    """``file:line: field: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedSite(_Strict):
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=300)
    region_code: str = Field(pattern=r"^\d{6}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SeedCase(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")
    title: str = Field(min_length=1, max_length=100)
    customer: str = Field(min_length=1, max_length=128)  # the app member who reported it
    store: str = Field(min_length=1, max_length=100)
    category: str
    device: str = Field(min_length=1, max_length=100)
    technician: str = Field(min_length=1, max_length=128)
    completed_at: datetime
    report: str = Field(min_length=2, max_length=500)  # the technician's 完工 message
    gross: Decimal  # what the statement must total (the seed's number)

    def model_post_init(self, _: object) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.category!r} is not a ticket category")
        if self.completed_at.tzinfo is None:
            raise ValueError("completed_at needs a UTC offset, e.g. +08:00")


class Seeds(_Strict):
    sites: tuple[SeedSite, ...] = ()
    cases: tuple[SeedCase, ...]


def load_seeds(path: Path = SEEDS) -> Seeds:
    return load_yaml_model(path, Seeds, SeedError)


async def seed_pricing_examples(session: AsyncSession, now: datetime, seeds: Seeds | None = None
                                ) -> list[Ticket]:
    """Add the examples not added yet (their stores too); returns the tickets added."""
    seeds = seeds or load_seeds()
    for s in seeds.sites:
        if (await session.execute(select(Site).where(Site.name == s.name))).scalar_one_or_none() is None:
            session.add(Site(created_at=now, **s.model_dump()))
    await session.flush()
    added: list[Ticket] = []
    for case in seeds.cases:
        title = TITLE.format(title=case.title)
        if (await session.execute(select(Ticket.id).where(Ticket.title == title))).first():
            continue
        site = (await session.execute(select(Site).where(Site.name == case.store))).scalar_one_or_none()
        if site is None:
            raise SeedError(f"{SEEDS}: case {case.key}: unknown store {case.store!r}")
        done = case.completed_at
        customer = await customer_for(session, "wecom_userid", case.customer, done)
        ticket = await create_ticket(session, TicketCreate(
            customer_id=customer.id, category=case.category, device=case.device, title=title,
            store=site.name, address=site.address, site_id=site.id, lat=site.lat, lon=site.lon,
            channel="app", conversation_key=f"app:{case.customer}", reporter=case.customer),
            actor="sandbox", now=done - timedelta(hours=3))
        cmd = parse_staff_command(case.report)
        ticket.status, ticket.assignee = "resolved", case.technician
        ticket.accepted_at = done - timedelta(hours=2)
        ticket.arrived_at, ticket.resolved_at, ticket.updated_at = done - timedelta(hours=1), done, done
        session.add(WorkReport(
            ticket_id=ticket.id, technician=case.technician,
            labour_minutes=(cmd.labour_minutes or 0) if cmd else 0,
            parts=[{"name": p.name, "qty": str(p.qty),
                    "unit_cost": None if p.unit_cost is None else str(p.unit_cost)}
                   for p in (cmd.parts if cmd else ()) if p.name],
            note=case.report, reported_at=done))
        await session.flush()
        await inbox_insert(session, [inbox_row(Event(
            "internal", "event", "ticket_resolved", "", CONVERSATION, f"seed:pricing:{case.key}",
            {"ticket_id": ticket.id}), now)])
        added.append(ticket)
    if added:
        log.info("sandbox: %d pricing examples added from %s", len(added), SEEDS)
    return added
