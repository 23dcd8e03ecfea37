"""Weekly shifts and leave, in Asia/Shanghai local time (shared by the loop and the index).

A shift is a weekly window ``weekday start-end``; when ``end <= start`` it crosses midnight and
ends on the next day (Sunday 22:00-06:00 ends Monday 06:00).  Start is inclusive, end exclusive.
Leave is an inclusive range of local dates.
"""

from __future__ import annotations

from functools import lru_cache

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Shanghai")
DAY_MIN = 24 * 60
WEEK_MIN = 7 * DAY_MIN
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(text: str) -> int:
    """'08:30' -> 510 minutes; '24:00' is allowed (end of day)."""
    try:
        hh, mm = str(text).split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"time {text!r} is not HH:MM")
    return h * 60 + m


def parse_weekdays(spec: str | list[str | int]) -> tuple[int, ...]:
    """'mon-fri', 'sat,sun', 'daily', or a list of names / 0..6 (0 = Monday)."""
    if isinstance(spec, list):
        items: list[str | int] = spec
    elif spec in ("daily", "*"):
        return tuple(range(7))
    else:
        items = []
        for part in str(spec).split(","):
            part = part.strip().lower()
            if "-" in part:
                a, b = (_WEEKDAY_KEYS.index(p.strip()[:3]) for p in part.split("-"))
                items.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
            else:
                items.append(part)
    out: list[int] = []
    for item in items:
        day = item if isinstance(item, int) else _WEEKDAY_KEYS.index(str(item).strip().lower()[:3])
        if not 0 <= day <= 6:
            raise ValueError(f"weekday {item!r} not in 0..6")
        if day not in out:
            out.append(day)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    weekday: int  # 0 = Monday (Python's date.weekday())
    start_min: int
    end_min: int  # <= start_min: crosses midnight into the next day

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"shift weekday {self.weekday} not in 0..6")
        if not (0 <= self.start_min < DAY_MIN and 0 <= self.end_min <= DAY_MIN):
            raise ValueError(f"shift times out of range: {self.start_min}..{self.end_min}")
        if self.start_min == self.end_min:
            raise ValueError("shift start equals end; use 00:00-24:00 for a whole day")

    @property
    def crosses_midnight(self) -> bool:
        return self.end_min <= self.start_min

    def label(self) -> str:
        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"
        nxt = "次日" if self.crosses_midnight else ""
        return f"{WEEKDAYS_ZH[self.weekday]} {hm(self.start_min)}–{nxt}{hm(self.end_min)}"


@dataclass(frozen=True, slots=True)
class Leave:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"leave ends ({self.end}) before it starts ({self.start})")

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: pass a timezone-aware time")
    return dt.astimezone(TZ)


def minute_of_week(dt: datetime) -> int:
    t = local(dt)
    return t.weekday() * DAY_MIN + t.hour * 60 + t.minute


def on_leave(leave: tuple[Leave, ...], dt: datetime) -> bool:
    day = local(dt).date()
    return any(lv.covers(day) for lv in leave)


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """Shift windows compiled to sorted, merged [start, end) intervals in minute-of-week."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    @lru_cache(maxsize=4096)  # technicians mostly share a few schedules; windows are frozen
    def from_windows(cls, windows: tuple[ShiftWindow, ...]) -> "WeeklySchedule":
        spans: list[tuple[int, int]] = []
        for w in windows:
            s = w.weekday * DAY_MIN + w.start_min
            e = w.weekday * DAY_MIN + w.end_min + (DAY_MIN if w.crosses_midnight else 0)
            if e > WEEK_MIN:  # Sunday night into Monday morning wraps the week
                spans += [(s, WEEK_MIN), (0, e - WEEK_MIN)]
            else:
                spans.append((s, e))
        merged: list[list[int]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        return cls(tuple(m[0] for m in merged), tuple(m[1] for m in merged))

    def covers(self, minute: int) -> bool:
        i = bisect_right(self.starts, minute) - 1
        return i >= 0 and minute < self.ends[i]

    def on_shift(self, dt: datetime) -> bool:
        return self.covers(minute_of_week(dt))

    def minute_bits(self) -> np.ndarray:
        """The same intervals as a packed bitmap over the week's 10,080 minutes (1,260 bytes):
        bit ``m`` is set iff ``covers(m)``; the index looks up many schedules at once."""
        on = np.zeros(WEEK_MIN, bool)
        for s, e in zip(self.starts, self.ends):
            on[s:e] = True
        return np.packbits(on)


def bit_at(packed: np.ndarray, minute: int) -> np.ndarray:
    """Column ``minute`` of row-wise packed bitmaps (``minute_bits`` stacked): bool per row."""
    return ((packed[:, minute >> 3] >> (7 - (minute & 7))) & 1).astype(bool)
