"""Business calendars: working time on the mainland calendar, for SLA clocks.

A ``BusinessCalendar`` is a daily working window (``09:00-18:00``, or ``00:00-24:00``) in a
time zone (Asia/Shanghai) on one of three kinds of days:

* ``mainland`` — working days as the State Council sets them, from the pinned
  ``chinese-calendar`` package: public holidays are off and the 调休 make-up days (a Saturday or
  Sunday worked instead) are on. The package knows a fixed range of years (1.11.0: 2004–2026);
  a date outside it raises ``UnknownYear`` naming the year when ``strict`` (the CLI, tests), and
  otherwise counts that year as Monday–Friday without holidays, logging one warning per year
  (the live bot keeps its clocks running; upgrade the package each November, after the notice).
* ``weekdays`` — Monday to Friday, no holidays;
* ``always`` — every day (24×7 with ``00:00-24:00``).

``add(start, seconds)`` is the instant ``seconds`` of working time after ``start`` (a start
outside working time counts from the next opening); ``between(a, b)`` is the working seconds
from ``a`` to ``b``. Pure computation, no I/O; every instant is timezone-aware.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("scheduler.calendar")

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = ("mainland", "weekdays", "always")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_MAX_DAYS = 3660  # a target never needs ten years of walking; stops a runaway loop


class UnknownYear(ValueError):
    """The holiday package does not know ``year`` (its schedule is not published in it)."""

    def __init__(self, year: int) -> None:
        self.year = year
        first, last = known_years()
        super().__init__(f"the holiday calendar (chinese-calendar {chinese_calendar.__version__})"
                         f" knows {first}–{last}, not {year}")


def known_years() -> tuple[int, int]:
    """The first and last year ``chinese-calendar`` has the State Council's schedule for."""
    years = [d.year for d in chinese_calendar.constants.holidays]
    return min(years), max(years)


def parse_window(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` → (opening, closing) in minutes after midnight; ``24:00`` allowed."""
    m = _WINDOW.match(text.strip())
    if not m:
        raise ValueError(f"not a working window HH:MM-HH:MM: {text!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
        raise ValueError(f"working window must be HH:MM-HH:MM with the end after the start "
                         f"(at most 24:00): {text!r}")
    return start, end


@dataclass(frozen=True)
class BusinessCalendar:
    kind: str = "mainland"
    window: tuple[int, int] = (9 * 60, 18 * 60)  # minutes after midnight
    tz: ZoneInfo = SHANGHAI
    strict: bool = False
    _warned: set[int] = field(default_factory=set, compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, kind: str = "mainland", workday: str = "09:00-18:00", *,
           tz: str = "Asia/Shanghai", strict: bool = False) -> "BusinessCalendar":
        if kind not in KINDS:
            raise ValueError(f"unknown calendar {kind!r} (one of {', '.join(KINDS)})")
        return cls(kind, parse_window(workday), ZoneInfo(tz), strict)

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        if self.kind == "always":
            return True
        if self.kind == "mainland":
            try:
                return chinese_calendar.is_workday(d)
            except NotImplementedError:
                if self.strict:
                    raise UnknownYear(d.year) from None
                if d.year not in self._warned:
                    self._warned.add(d.year)
                    log.warning("holiday calendar does not know %d: counting it as Monday-"
                                "Friday without holidays (upgrade chinese-calendar)", d.year)
        return d.weekday() < 5

    def _open_close(self, d: date) -> tuple[datetime, datetime]:
        start, end = self.window
        midnight = datetime.combine(d, time(0), self.tz)
        # wall-clock minutes: Asia/Shanghai has no DST, so adding minutes is exact
        return midnight + timedelta(minutes=start), midnight + timedelta(minutes=end)

    # -- time -------------------------------------------------------------------------

    def next_open(self, at: datetime) -> datetime:
        """``at`` if it is working time, else the next opening."""
        local = at.astimezone(self.tz)
        d = local.date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(d):
                opens, closes = self._open_close(d)
                if local < closes:
                    return max(local, opens)
            d += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_DAYS} days of {at.isoformat()}")

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of working time after ``start`` (local time zone)."""
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        remaining = timedelta(seconds=max(seconds, 0))
        at = self.next_open(start)
        for _ in range(_MAX_DAYS):
            _, closes = self._open_close(at.date())
            room = closes - at
            if remaining <= room:
                return at + remaining
            remaining -= room
            at = self.next_open(closes)
        raise ValueError(f"{seconds} s of working time do not fit in {_MAX_DAYS} days")

    def between(self, a: datetime, b: datetime) -> float:
        """Working seconds from ``a`` to ``b`` (0 if ``b`` is not after ``a``)."""
        if b <= a:
            return 0.0
        total = 0.0
        at = self.next_open(a)
        end = b.astimezone(self.tz)
        for _ in range(_MAX_DAYS):
            if at >= end:
                return total
            _, closes = self._open_close(at.date())
            total += (min(closes, end) - at).total_seconds()
            if end <= closes:
                return total
            at = self.next_open(closes)
        return total


def business_add(start: datetime, hours: float, *, workday: str = "09:00-18:00",
                 calendar: str = "mainland") -> datetime:
    """What ``python main.py calendar add`` prints (strict: an unknown year raises)."""
    cal = BusinessCalendar.of(calendar, workday, strict=True)
    return cal.add(start, hours * 3600)
