"""The SLA engine: pure decisions, no I/O.

* ``resolve_targets`` — the targets, calendar and chains for a ticket's kind × priority ×
  region × store: every matching policy row applied from the least to the most specific, so
  the most specific row wins field by field (as the price books do).
* ``plan`` — a clock's steps in time order: its levels (``after`` business time from the
  start, plus what it spent paused), the yellow point and the breach.
* ``quiet_until`` — whether a channel is held by a person's quiet hours, and until when.
* ``colour`` — red / yellow / green of a clock at an instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # local time of quiet hours (the engine imports only itself)


class Calendar(Protocol):
    def add(self, start: datetime, seconds: float) -> datetime: ...


@dataclass(frozen=True)
class Targets:
    seconds: dict[str, int]  # metric → business seconds
    calendar: str
    chains: dict[str, str]  # metric → chain name
    matched: tuple[int, ...] = ()  # the policy rows applied, least specific first

    @property
    def policy(self) -> str:
        return "policies[" + ",".join(str(i) for i in self.matched) + "]"


def resolve_targets(rules: list[Any], *, kind: str, priority: str, region: str, store: str,
                    parse: Any, default_calendar: str = "mainland") -> Targets:
    """``rules`` are ``config.Rule`` rows; ``parse`` turns a duration text into seconds."""
    hits = [(r.specificity(), i, r) for i, r in enumerate(rules)
            if r.matches(kind, priority, region, store)]
    hits.sort(key=lambda h: (h[0], h[1]))
    secs: dict[str, int] = {}
    chains: dict[str, str] = {}
    calendar = default_calendar
    for _, _, r in hits:
        secs.update({m: parse(d) for m, d in r.targets.items()})
        chains.update(r.escalate)
        if r.calendar:
            calendar = r.calendar
    return Targets(secs, calendar, chains, tuple(i for _, i, _ in hits))


@dataclass(frozen=True)
class Step:
    at: datetime
    name: str  # yellow | breach | level1 …
    level: Any = None  # the config Level for level steps


def plan(cal: Calendar, *, started: datetime, target: int, yellow_share: float,
         paused: float, levels: list[Any], parse: Any) -> list[Step]:
    """Every step of a clock, earliest first (ties: levels before yellow before breach)."""
    steps = [Step(cal.add(started, parse(lv.after) + paused), f"level{i + 1}", lv)
             for i, lv in enumerate(levels)]
    steps.append(Step(cal.add(started, target * yellow_share + paused), "yellow"))
    steps.append(Step(cal.add(started, target + paused), "breach"))
    order = {"yellow": 1, "breach": 2}
    return sorted(steps, key=lambda s: (s.at, order.get(s.name, 0)))


def deadlines(cal: Calendar, *, started: datetime, target: int, yellow_share: float,
              paused: float) -> tuple[datetime, datetime]:
    """(yellow point, breach) of a clock."""
    return (cal.add(started, target * yellow_share + paused), cal.add(started, target + paused))


def _hm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def quiet_until(quiet: Any, channel: str, priority: str, now: datetime) -> datetime | None:
    """When ``channel`` may go if ``now`` is inside ``quiet`` (a config ``Quiet`` or None);
    None when it may go now."""
    if quiet is None or channel not in quiet.channels or priority in quiet.except_priority:
        return None
    local = now.astimezone(SHANGHAI)
    start, end = _hm(quiet.start), _hm(quiet.end)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, SHANGHAI)


GREEN, YELLOW, RED = "green", "yellow", "red"


def colour(*, breached: bool, yellow_at: datetime, due_at: datetime, done: bool,
           now: datetime) -> str:
    if breached or (not done and now >= due_at):
        return RED
    if not done and now >= yellow_at:
        return YELLOW
    return GREEN


@dataclass
class RegionLight:
    """A region's light: red if any clock there is red, else yellow if any is, else green."""

    red: int = 0
    yellow: int = 0
    green: int = 0
    tickets: set[int] = field(default_factory=set)

    def add(self, light: str, ticket_id: int) -> None:
        setattr(self, light, getattr(self, light) + 1)
        self.tickets.add(ticket_id)

    @property
    def light(self) -> str:
        return RED if self.red else YELLOW if self.yellow else GREEN


def attainment(met: int, breached: int) -> float | None:
    """Share of clocks that ended in time (None when none ended)."""
    total = met + breached
    return None if total == 0 else met / total
