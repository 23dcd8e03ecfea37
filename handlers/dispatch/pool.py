"""The technician pool — every active technician as the engine sees them — and the engine's
view of a ticket (``job_for``).

Placements rank on the pool each process keeps (pool_cache.py): read once, then kept current
from the database's change feed (models/pool_feed.py), so placing a job reads no technician
row unless one changed. The placement paths with a prepare step (``ticket_created``,
``offer_timeout``, ``grab_timeout``) make the first read happen there, outside the event's
write transaction (``Dispatcher.prepare``, handlers/routing.py); the handler then only checks
the feed.

``load_pool`` / ``Pool.read`` read everything at once (the cache's first read converts rows
the same way, with ``technician_of``); ``Pool.live`` brings such a pool's counters to a
transaction's view. The SQL is in models/dispatch.py and models/pool_feed.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.dispatch.config import OfferingConfig
from handlers.dispatch.engine import GeoPoint, Job, TechnicianIndex
from handlers.dispatch.engine.model import Technician
from handlers.dispatch.engine.specs import technician_from_dict
from models.dispatch import (OFFERED, OFFERING, DispatchJob, Offer, accept_stats, current_job,
                             open_loads, satisfaction_by_technician, technician_rows)
from models.messages import Event
from models.ticketing import point_of, region_code_of
from models.tickets import Site, Ticket
from models.types import LOCAL_TZ

log = logging.getLogger("handlers.dispatch.pool")

RATING_PRIOR = 5  # customer scores count against the imported rating as if it were 5 scores
ALWAYS = [{"days": "daily", "start": "00:00", "end": "24:00"}]  # no shifts given: always on
RESPONSE_DAYS = 3  # response speed: the median over this many days
YIELD_EVERY = 250  # rows converted between two turns of the event loop (≈ 30 ms)


def _windows(now: datetime) -> tuple[datetime, datetime]:
    """Since when response speed is measured, and when "today" began (Shanghai)."""
    midnight = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return now - timedelta(days=RESPONSE_DAYS), midnight


async def load_pool(session: Any, now: datetime) -> tuple[list[Technician], dict[str, Any]]:
    """Every active technician as the engine sees them now: load, jobs today, response speed
    and rating are derived from tickets and offers; a row the engine cannot use is skipped
    with a log line naming it. Also every technician's row, by userid."""
    staff = await technician_rows(session)
    loads = await open_loads(session)
    medians, today = await accept_stats(session, *_windows(now))
    scores = await satisfaction_by_technician(session)
    techs: list[Technician] = []
    for i, s in enumerate(staff):
        if i and not i % YIELD_EVERY:
            # Converting 10,000 rows is most of a second of pure Python: let the other events'
            # transactions (and the acks) run between chunks instead of waiting for all of it.
            await asyncio.sleep(0)
        tech = technician_of(s, loads.get(s.userid, 0), medians.get(s.userid),
                             today.get(s.userid, 0), scores.get(s.userid))
        if tech is not None:
            techs.append(tech)
    return techs, {s.userid: s for s in staff}


def technician_of(s: Any, load: int, median: float | None, today: int,
                  score: tuple[float, int] | None) -> Technician | None:
    """Technician row ``s`` with its counters as the engine sees it (None, with a log line
    naming it, when the engine cannot use the row). ``score``: (sum, count) of customer
    scores on their tickets."""
    total, n = score or (0.0, 0)
    rating = s.rating
    if n:
        rating = ((s.rating * RATING_PRIOR + total) / (RATING_PRIOR + n) if s.rating
                  else total / n)
    last = ({"lat": s.last_lat, "lon": s.last_lon}
            if s.last_lat is not None and s.last_seen_at is not None else None)
    try:
        return technician_from_dict({
            "id": s.userid, "name": s.name or s.userid, "skills": s.skills or {},
            "regions": s.regions or [], "home": {"lat": s.home_lat, "lon": s.home_lon},
            "capacity": s.capacity, "load": load,
            "last_known": last, "last_seen_at": s.last_seen_at if last else None,
            "shifts": s.shifts or ALWAYS, "leave": s.leave or [], "rating": rating,
            "response_median_s": median, "jobs_today": today,
        })
    except (TypeError, ValueError, KeyError) as exc:
        log.warning("technician %s left out of dispatch: %s", s.userid, exc)
        return None


@dataclass(frozen=True)
class Pool:
    """The pool read at one moment: the technicians, every technician's row by userid (the
    cards need their staff ids) and the engine's index of them."""

    technicians: list[Technician]
    staff: dict[str, Any]
    index: TechnicianIndex

    @classmethod
    async def read(cls, session: Any, now: datetime) -> Pool:
        techs, staff = await load_pool(session, now)
        return cls(techs, staff, TechnicianIndex.build(techs))

    async def live(self, session: Any, now: datetime) -> Pool:
        """This pool with the counters as ``session`` sees them ``now`` (inside the event's
        transaction): load, response speed and jobs today, as ``load_pool`` would derive them.
        Itself when nothing moved since it was read."""
        loads = await open_loads(session)
        medians, today = await accept_stats(session, *_windows(now))
        techs: list[Technician] = []
        moved = False
        for t in self.technicians:
            counters = (loads.get(t.id, 0), medians.get(t.id), today.get(t.id, 0))
            if counters == (t.load, t.response_median_s, t.jobs_today):
                techs.append(t)
                continue
            moved = True
            load, median, jobs = counters
            try:
                techs.append(dataclasses.replace(
                    t, load=int(load), response_median_s=None if median is None else float(median),
                    jobs_today=int(jobs)))
            except (TypeError, ValueError) as exc:  # as technician_from_dict would have
                log.warning("technician %s left out of dispatch: %s", t.id, exc)
        return Pool(techs, self.staff, TechnicianIndex.build(techs)) if moved else self


def job_for(ticket: Ticket, site: Site | None, offering: OfferingConfig,
            now: datetime) -> Job | None:
    """The engine's view of a ticket; None when nothing places it in a region."""
    region = region_code_of(ticket, site)
    if region is None:
        return None
    need = offering.need(ticket.category, ticket.device)
    point = point_of(ticket, site)
    at = ticket.appointment_start
    return Job(id=ticket.number, category=ticket.category, skill=need.skill,
               min_level=need.min_level, region=region,
               location=GeoPoint(*point) if point else None,
               at=at if at is not None and at > now else None)


# -- the placement paths' prepare steps (outside the transaction; see the module's docstring) --
# Once the process's pool is read they do nothing (no database at all). Before, they check
# whether the event will rank (the handlers check again, under the job's lock) and only then
# read the pool, as of the ticket's last change or the timer's due time (a prepare step has no
# clock); the handler brings the time-derived counters to its own now.


async def prepare_new_ticket(event: Event, sm: async_sessionmaker,
                             offering: OfferingConfig) -> dict[str, Any]:
    """``ticket_created``: the pool, if the ticket is one dispatch will place."""
    if _warm(sm):
        return {}  # the kept pool is read: the handler only checks the change feed
    ticket_id = _id(event.payload.get("ticket_id"))
    if ticket_id is None:
        return {}  # the handler finds no ticket either
    async with sm() as s:
        ticket = await s.get(Ticket, ticket_id)
        if (ticket is None or ticket.status != "new" or not offering.dispatched(ticket.category)
                or await current_job(s, ticket.id) is not None):
            return {}
        updated_at = ticket.updated_at
    await read_shared(sm, updated_at)
    return {}


async def prepare_offer_timeout(event: Event, sm: async_sessionmaker) -> dict[str, Any]:
    """``offer_timeout``: the pool, if the offer is still open (the job moves on)."""
    if _warm(sm):
        return {}  # the kept pool is read: the handler only checks the change feed
    offer_id = _id((event.payload.get("data") or {}).get("offer_id"))
    if offer_id is None:
        return {}
    async with sm() as s:
        offer = await s.get(Offer, offer_id)
        if offer is None or offer.status != OFFERED:
            return {}
        as_of = await _offering_since(s, event, offer.job_id)
    if as_of:
        await read_shared(sm, as_of)
    return {}


async def prepare_grab_timeout(event: Event, sm: async_sessionmaker) -> dict[str, Any]:
    """``grab_timeout``: the pool, if nobody took the job (the dispatcher's card lists the
    best candidates)."""
    if _warm(sm):
        return {}  # the kept pool is read: the handler only checks the change feed
    job_id = _id((event.payload.get("data") or {}).get("job_id"))
    if job_id is None:
        return {}
    async with sm() as s:
        as_of = await _offering_since(s, event, job_id)
    if as_of:
        await read_shared(sm, as_of)
    return {}


def _id(value: Any) -> int | None:
    """A row id from an event's payload (anything else: the handler deals with it)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _offering_since(s: Any, event: Event, job_id: int) -> datetime | None:
    """As of when to read the pool for a job still being offered (None: it is not)."""
    job = await s.get(DispatchJob, job_id)
    ticket = await s.get(Ticket, job.ticket_id) if job is not None else None
    if job is None or job.status != OFFERING or ticket is None or ticket.status != "dispatched":
        return None
    due = event.payload.get("due_at")
    return datetime.fromisoformat(due) if due else ticket.updated_at


def _engine(sm: async_sessionmaker) -> Any:
    return sm.kw["bind"]


def _warm(sm: async_sessionmaker) -> bool:
    """The process's kept pool for this database has been read (pool_cache.py)."""
    from handlers.dispatch.pool_cache import cache_for  # it builds on this module

    return cache_for(_engine(sm)).version >= 0


async def read_shared(sm: async_sessionmaker, as_of: datetime) -> None:
    """Outside the transaction: the process's kept pool (pool_cache.py) read now if it has
    never been read, so that the handler's transaction only checks the change feed. Placements
    preparing meanwhile wait for the same read (the cache's lock)."""
    from handlers.dispatch.pool_cache import cache_for

    cache = cache_for(_engine(sm))
    if cache.version < 0:
        await cache.current(as_of)
