"""Managers' digests: the numbers, their text and chart, the recurring schedule.

``digest_stats`` reads the database for one person's scope (their ``regions`` or ``stores``;
everyone's tickets when they have neither) over a window: received, closed, open, breaches and
near-breaches (the worst open ones named), SLA attainment against the same window a week
earlier, a red / yellow / green light per region (its city) and each technician's open load.
``digest_text`` is the text version; ``chart.render`` draws the same numbers.

Recurring digests ride on the durable timers: one timer per digest in ``config/sla.yaml``
(``sla_digest:<name>``), armed at start if missing and re-armed by its own firing in the
transaction that queues the messages, so with several replicas each digest fires once; the
``sla_digest`` table (unique per digest, period and person) keeps a retried event from
sending a second copy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, union
from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.sla import texts
from handlers.sla.config import Digest, SlaConfig
from handlers.sla.engine import GREEN, RED, YELLOW, RegionLight, attainment, colour
from handlers.sla.people import region_prefix
from models.db import WriteGate, write_session
from models.keys import sla_digest_timer
from models.regions import Region
from models.sla import DONE, PAUSED, RUNNING, STOPPED, SlaClock
from models.ticketing import OPEN_STATUSES, region_code_of, staff_names
from models.tickets import Site, Staff, Ticket
from models.timer import Timer
from scheduler.calendar import SHANGHAI
from scheduler.clock import Clock
from scheduler.timers import arm


OPEN_DONE = ("resolved", "closed", "cancelled")  # every other status is open (OPEN_STATUSES)
WEEK = timedelta(days=7)


def in_scope(person: Staff | None, ticket: Ticket, site: Site | None) -> bool:
    if person is None or not (person.regions or person.stores):
        return True
    code = region_code_of(ticket, site) or ""
    if code and any(code.startswith(region_prefix(r)) for r in person.regions or []):
        return True
    store = ticket.store or (site.name if site else "")
    return bool(store) and store in (person.stores or [])


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _counted_clocks(start: datetime, end: datetime) -> Any:
    """The clocks a period's numbers look at: still running, breached in the period, or met
    since a week before it (this period's attainment and the one before)."""
    return or_(SlaClock.status.in_((RUNNING, PAUSED)),  # not DONE, not STOPPED
               and_(SlaClock.breached_at >= start, SlaClock.breached_at < end),
               and_(SlaClock.met_at >= start - WEEK, SlaClock.met_at < end))


#: what the numbers read of a ticket and of a clock (plain rows: no ORM objects to build)
_TICKET = [getattr(Ticket, c) for c in (
    "id", "number", "title", "category", "status", "created_at", "resolved_at", "closed_at",
    "assignee", "store", "site_id", "district_code", "city_code", "province_code", "city",
    "province")]
_CLOCK = [getattr(SlaClock, c) for c in (
    "ticket_id", "metric", "status", "breached", "breached_at", "met_at", "yellow_at", "due_at")]


async def period_rows(session: Any, start: datetime, end: datetime) -> tuple[list[Any], list[Any]]:
    """Only the rows a period's numbers need, each found through an index: open tickets,
    those created, resolved or closed in the period, and those of the clocks counted — not
    the whole history (a year of tickets and clocks, loaded as objects, took seconds per
    recipient inside the worker's write transaction)."""
    counted = _counted_clocks(start, end)
    clocks = list((await session.execute(select(*_CLOCK).where(counted))).all())
    # A union of one index's lookup each: as one OR beside "created before the end", the
    # planners walked the created_at index over all history instead.
    wanted = union(select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES)),
                   select(Ticket.id).where(Ticket.created_at >= start),
                   select(Ticket.id).where(Ticket.resolved_at >= start),
                   select(Ticket.id).where(Ticket.closed_at >= start),
                   select(SlaClock.ticket_id).where(counted))
    tickets = list((await session.execute(select(*_TICKET).where(
        Ticket.id.in_(wanted), Ticket.created_at < end))).all())
    return tickets, clocks


async def digest_stats(session: Any, person: Staff | None, *, start: datetime, end: datetime,
                       now: datetime, period: str,
                       rows: tuple[list[Any], list[Any]] | None = None) -> dict[str, Any]:
    """The period's numbers in ``person``'s scope (everyone's for None); ``rows``: the
    period's ``period_rows``, read once for several people."""
    read, clocks_all = rows or await period_rows(session, start, end)
    site_ids = {t.site_id for t in read if t.site_id}
    sites = {s.id: s for s in (await session.execute(
        select(Site).where(Site.id.in_(site_ids)))).scalars()} if site_ids else {}
    tickets = {t.id: t for t in read if in_scope(person, t, sites.get(t.site_id))}
    clocks = [c for c in clocks_all if c.ticket_id in tickets]
    received = sum(_in(t.created_at, start, end) for t in tickets.values())
    closed = sum(_in(t.resolved_at or t.closed_at, start, end) for t in tickets.values())
    open_ids = {i for i, t in tickets.items() if t.status not in OPEN_DONE}
    breached = [c for c in clocks if c.breached and _in(c.breached_at, start, end)]
    live = [c for c in clocks if c.ticket_id in open_ids and c.status not in (DONE, STOPPED)]
    yellow = [c for c in live if not c.breached and now >= c.yellow_at]

    def attained(a: datetime, b: datetime) -> float | None:
        ended = [c for c in clocks if c.status == DONE and _in(c.met_at, a, b)]
        return attainment(sum(not c.breached for c in ended), sum(c.breached for c in ended))

    worst = sorted((c for c in live if c.breached or now >= c.due_at),
                   key=lambda c: c.due_at)[:3]
    rank = {RED: 0, YELLOW: 1, GREEN: 2}
    worst_light: dict[int, str] = {i: GREEN for i in open_ids}  # each open ticket's worst clock
    for c in live:
        light = colour(breached=c.breached, yellow_at=c.yellow_at, due_at=c.due_at, done=False,
                       now=now)
        if rank[light] < rank[worst_light[c.ticket_id]]:
            worst_light[c.ticket_id] = light
    areas = await _area_names(session, {i: region_code_of(tickets[i], sites.get(
        tickets[i].site_id)) or "" for i in open_ids})
    regions: dict[str, RegionLight] = defaultdict(RegionLight)
    for i, light in worst_light.items():
        regions[areas.get(i) or tickets[i].city or tickets[i].province or texts.UNPLACED].add(
            light, i)
    load = Counter(t.assignee for i, t in tickets.items() if i in open_ids and t.assignee)
    names = await staff_names(session, load)
    return {
        "period": period, "scope": _scope(person), "received": received, "closed": closed,
        "open": len(open_ids), "breached": len(breached), "yellow": len(yellow),
        "attainment": attained(start, end), "attainment_before": attained(start - WEEK,
                                                                          end - WEEK),
        "worst": [{"number": tickets[c.ticket_id].number,
                   "title": tickets[c.ticket_id].title or tickets[c.ticket_id].category,
                   "metric": c.metric, "late_s": int((now - c.due_at).total_seconds())}
                  for c in worst],
        "regions": sorted(({"name": k, "light": v.light, "red": v.red, "yellow": v.yellow,
                            "green": v.green} for k, v in regions.items()),
                          key=lambda r: ({RED: 0, YELLOW: 1, GREEN: 2}[r["light"]], r["name"])),
        "load": [{"name": names.get(u, u), "n": n} for u, n in load.most_common(10)],
    }


async def _area_names(session: Any, codes: dict[int, str]) -> dict[int, str]:
    """Each ticket's city (or, for 直辖市, province) name from the region table."""
    wanted = {c[:n] for c in codes.values() if c for n in (2, 4)}  # codes at their own length
    names = {r.code: r.name for r in (await session.execute(
        select(Region).where(Region.code.in_(list(wanted) or [""])))).scalars()}
    return {i: names.get(c[:4]) or names.get(c[:2], "") for i, c in codes.items() if c}


def _scope(person: Staff | None) -> str:
    if person is None or not (person.regions or person.stores):
        return ""
    return "、".join([*(person.regions or []), *(person.stores or [])])


def _pct(v: float | None) -> str:
    return texts.DIGEST_NA if v is None else f"{v * 100:.0f}%"


def _late(seconds: int) -> str:
    h, m = divmod(max(seconds, 0) // 60, 60)
    return f"{h}小时{m}分" if h else f"{m}分钟"


def digest_text(stats: dict[str, Any], every: str, *, chart: bool | None) -> str:
    lines = [texts.DIGEST_TITLE[every].format(period=stats["period"]),
             texts.DIGEST_SCOPE.format(scope=stats["scope"]) if stats["scope"]
             else texts.DIGEST_SCOPE_ALL,
             texts.DIGEST_COUNTS.format(**stats),
             texts.DIGEST_BREACHES.format(**stats),
             texts.DIGEST_ATTAIN.format(now=_pct(stats["attainment"]),
                                        before=_pct(stats["attainment_before"]))]
    if stats["worst"]:
        lines.append(texts.DIGEST_WORST)
        lines += [texts.DIGEST_WORST_LINE.format(
            number=w["number"], title=w["title"],
            metric=texts.METRIC_NAMES.get(w["metric"], w["metric"]), late=_late(w["late_s"]))
            for w in stats["worst"]]
    if stats["regions"]:
        lines.append(texts.DIGEST_REGIONS)
        lines += [texts.DIGEST_REGION_LINE.format(
            region=r["name"], light=texts.LIGHT_NAMES[r["light"]], red=r["red"],
            yellow=r["yellow"], green=r["green"]) for r in stats["regions"]]
    if stats["load"]:
        lines.append(texts.DIGEST_LOAD)
        lines += [texts.DIGEST_LOAD_LINE.format(**x) for x in stats["load"]]
    if chart is True:
        lines.append(texts.DIGEST_CHART_NOTE)
    elif chart is False:
        lines.append(texts.DIGEST_NO_CHART)
    return "\n".join(lines)


def window(every: str, end: datetime) -> tuple[datetime, str]:
    """(start, period label) of the window that ends at ``end``."""
    days = 7 if every == "week" else 1
    start = end - timedelta(days=days)
    a, b = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    label = (b.strftime("%Y-%m-%d") if days == 1
             else f"{a.strftime('%Y-%m-%d')}~{(b - timedelta(seconds=1)).strftime('%m-%d')}")
    return start, label


def today(now: datetime) -> tuple[datetime, str]:
    """Since local midnight (``今日工单`` / ``汇总`` on demand)."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(0), SHANGHAI), local.strftime("%Y-%m-%d")


def next_run(d: Digest, after: datetime) -> datetime:
    """The first scheduled time of ``d`` strictly after ``after``."""
    h, m = (int(x) for x in d.at.split(":"))
    local = after.astimezone(SHANGHAI)
    day = local.date()
    for _ in range(15):
        at = datetime.combine(day, time(h, m), SHANGHAI)
        if at > after and (d.every == "day" or at.isoweekday() == d.weekday):
            return at
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week has every weekday")


async def ensure_digest_timers(sm: async_sessionmaker, cfg: SlaConfig, clock: Clock,
                               gate: WriteGate | None = None) -> int:
    """Arm each configured digest's timer if it has none (at start; a timer that fired is
    re-armed by its own handler, so it is left alone). Returns how many this call armed."""
    armed = 0
    for d in cfg.digests:
        key = sla_digest_timer(d.name)
        async with write_session(sm, gate) as s:
            row = (await s.execute(select(Timer).where(Timer.key == key))).scalar_one_or_none()
            if row is not None and row.status != "cancelled":
                continue
            now = clock.now()
            # another replica arming it at the same moment re-arms the same run (an upsert)
            await arm(s, key, next_run(d, now), "sla_digest", payload={"name": d.name},
                      conversation_key=key, now=now)
            armed += 1
    return armed
