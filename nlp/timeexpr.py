"""Appointment time expressions resolved against ``now`` in Asia/Shanghai.

Recognised pieces, which combine when adjacent (明天 下午 三点半):

* dates — 今天/今日, 明天/明儿, 后天, 大后天, 今晚/明早/明晚, N天后,
  周X/星期X/礼拜X, 这周X/本周X, 下周X, 下下周X, M月D号/日, D号,
  2026年12月3日, 2026-12-03, 12/3;
* parts of day — 凌晨 05:00, 早上 08:00, 上午 09:00, 中午 12:00, 下午 14:00,
  傍晚 18:00, 晚上 19:00, 夜里/半夜 22:00 (used when no clock time is given);
* clock times — 三点, 3点半, 两点一刻, 10:30, 8点以后, 3点钟.

Rules (see docs/nlp.md): a clock hour 1–6 without a part of day is taken
as afternoon (三点 → 15:00); a time without a date is today if still ahead,
else tomorrow; a date without a time is 09:00 that day (today: the next full
hour); a bare weekday is the next such day (周三 said on a Wednesday → next
week); 下周X is that day in the next calendar week; a month/day already past
rolls to next year, a bare day-of-month to next month. Past references
(昨天, 前天, 上周) are not appointments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from nlp.numerals import CN_CHARS, parse_int
from nlp.text import Claimed, Span

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
_N: Final = rf"(?:\d{{1,2}}|[{CN_CHARS}]{{1,3}})"
_WEEKDAY: Final = r"(?:周|星期|礼拜)([一二三四五六日天1-7])"
WEEKDAYS: Final[dict[str, int]] = {
    **{c: i for i, c in enumerate("一二三四五六")}, "日": 6, "天": 6, **{str(i + 1): i for i in range(7)},
}
RELATIVE_DAYS: Final[dict[str, int]] = {
    "今天": 0, "今日": 0, "今儿": 0, "今晚": 0, "今早": 0, "今天晚上": 0,
    "明天": 1, "明日": 1, "明儿": 1, "明早": 1, "明晚": 1,
    "后天": 2, "大后天": 3,
    "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2,
}
#: part of day -> (default time, end hour of the period, shift clock hours < 12 by +12)
PARTS_OF_DAY: Final[dict[str, tuple[time, int, bool]]] = {
    "凌晨": (time(5), 6, False), "早上": (time(8), 12, False), "早晨": (time(8), 12, False),
    "清早": (time(8), 12, False), "一早": (time(8), 12, False), "上午": (time(9), 12, False),
    "白天": (time(9), 18, False), "中午": (time(12), 14, False), "下午": (time(14), 18, True),
    "傍晚": (time(18), 19, True), "晚上": (time(19), 24, True), "晚": (time(19), 24, True),
    "晚间": (time(19), 24, True),
    "夜里": (time(22), 24, True), "半夜": (time(22), 24, True), "夜间": (time(22), 24, True),
}
_IMPLIED_PART: Final[dict[str, str]] = {"今晚": "晚上", "明晚": "晚上", "昨晚": "晚上", "今早": "早上", "明早": "早上"}

#: the first character of every piece below (a digit or Chinese numeral, 下/这/本/上 or 周/星期/礼拜,
#: 今/明/后/大/昨/前, the parts of day): tried first at each position, it spares trying the nine
#: alternatives where no piece can start
_PIECE_START: Final = rf"(?=[\d{CN_CHARS}下这本上周星礼今明后大昨前凌早清白中傍晚夜半])"
PIECES: Final[re.Pattern[str]] = re.compile(
    _PIECE_START + "(?:" + "|".join(
        [
            r"(?P<iso>(?<!\d)(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?(?!\d))",
            rf"(?P<md>(?<!\d)({_N})月({_N})[日号])",
            r"(?P<slash>(?<![\d/])(1[0-2]|0?[1-9])/([12]\d|3[01]|0?[1-9])(?![\d/]))",
            rf"(?P<week>(下下|下个?|这个?|本|上个?)?{_WEEKDAY})",
            rf"(?P<after>({_N})天(?:以|之)?后)",
            "(?P<rel>" + "|".join(sorted(RELATIVE_DAYS, key=len, reverse=True)) + ")",
            rf"(?P<day>(?<![\d路街弄巷道号栋楼#-])({_N})[日号](?![楼门线店机位房柜口窗床室铺桌\d]))",
            # a bare 晚 is a part of day only right before a clock time (晚8点), not in 晚了/晚一点
            "(?P<part>" + "|".join(sorted(set(PARTS_OF_DAY) - {"晚"}, key=len, reverse=True)) + r"|晚(?=\d|[二两三四五六七八九十]+点))",
            rf"(?P<clock>(?<![\d.])({_N})\s*(?:点钟|点|:|：)\s*(半|一刻|三刻|\d{{2}}(?!\d)|{_N}分)?(?![点儿]))",
        ]
    ) + ")"
)
#: a character every piece of PIECES contains (a digit, /, :, 月, 周/星期/礼拜, 天, 日/号, 今儿,
#: 晚/早/晨/午/夜, 点): a message without one has no time and skips the pattern
_PIECE_MARK: Final[re.Pattern[str]] = re.compile(r"[\d/:：月周期拜天日号儿晚早晨午夜点]")
_MAX_GAP: Final = 3  # characters allowed between pieces of one expression ("明天 的 下午")
_GAP_OK: Final = re.compile(r"[\s的,，、]*")


@dataclass(frozen=True, slots=True)
class TimeExpr:
    value: datetime
    span: Span
    precision: str  # "date" | "part_of_day" | "minute"


@dataclass(slots=True)
class _Parts:
    start: int
    end: int
    day: date | None = None
    past: bool = False
    part: str | None = None
    clock: tuple[int, int] | None = None


def _date_piece(m: re.Match[str], kind: str, today: date) -> tuple[date | None, bool]:
    """Resolve one date piece -> (date, refers_to_past)."""
    g = m.groups()
    try:
        if kind == "iso":
            i = m.re.groupindex["iso"]
            return date(int(g[i]), int(g[i + 1]), int(g[i + 2])), False
        if kind in ("md", "slash"):
            i = m.re.groupindex[kind]
            month, day_ = parse_int(g[i]), parse_int(g[i + 1])
            if month is None or day_ is None:
                return None, False
            d = date(today.year, month, day_)
            return (d if d >= today else date(today.year + 1, month, day_)), False
        if kind == "day":
            day_ = parse_int(g[m.re.groupindex["day"]])
            if day_ is None or not 1 <= day_ <= 31:
                return None, False
            year, month = today.year, today.month
            for _ in range(3):  # this month, else the next month that has that day
                try:
                    d = date(year, month, day_)
                except ValueError:
                    d = None
                if d is not None and d >= today:
                    return d, False
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return None, False
        if kind == "rel":
            offset = RELATIVE_DAYS[m.group()]
            return today + timedelta(days=offset), offset < 0
        if kind == "after":
            n = parse_int(g[m.re.groupindex["after"]])
            return (today + timedelta(days=n), False) if n is not None and n < 400 else (None, False)
        if kind == "week":
            i = m.re.groupindex["week"]
            prefix, target = g[i] or "", WEEKDAYS[g[i + 1]]
            monday = today - timedelta(days=today.weekday())
            if prefix.startswith("下下"):
                return monday + timedelta(days=14 + target), False
            if prefix.startswith("下"):
                return monday + timedelta(days=7 + target), False
            if prefix.startswith("上"):
                return monday + timedelta(days=target - 7), True
            if prefix:  # 这周 / 本周
                return monday + timedelta(days=target), False
            ahead = (target - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead), False
    except ValueError:
        return None, False
    return None, False


#: 快一点 / 早一点 / 有两点: a Chinese numeral + 点 after these is "a bit", not o'clock
_NOT_CLOCK_BEFORE: Final = frozenset("快早晚多慢少好大小高低差有这那再稍轻重长短近远便宜些第")


def _clock_piece(m: re.Match[str], text: str, after_piece: bool) -> tuple[int, int] | None:
    i = m.re.groupindex["clock"]
    number = m.group(i + 1)
    if not (number[0].isdigit() or after_piece) and m.start() > 0 and text[m.start() - 1] in _NOT_CLOCK_BEFORE:
        return None
    hour = parse_int(number)
    minute_raw = m.group(i + 2)
    if hour is None or hour > 24:
        return None
    minute = 0
    if minute_raw:
        minute = {"半": 30, "一刻": 15, "三刻": 45}.get(minute_raw, -1)
        if minute < 0:
            parsed = parse_int(minute_raw.rstrip("分"))
            if parsed is None or parsed > 59:
                return None
            minute = parsed
    elif m.group().endswith((":", "：")):
        return None  # "备注:" is not a time
    return hour, minute


def _resolve(parts: _Parts, now: datetime) -> tuple[datetime, str] | None:
    today = now.date()
    part = parts.part
    if parts.clock is not None:
        hour, minute = parts.clock
        shift = PARTS_OF_DAY[part][2] if part else hour <= 6
        if part == "中午" and hour <= 3:
            shift = True
        if part == "凌晨" and hour == 12:
            hour = 0
        if shift and hour < 12:
            hour += 12
        elif shift and hour == 12 and part in ("晚上", "夜里", "半夜", "夜间", "晚间", "晚"):
            hour = 24  # 晚上12点 is midnight
        day = parts.day or today
        value = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hour, minutes=minute)
        if parts.day is None and value <= now:
            value += timedelta(days=1)
        return value, "minute"
    if part is not None:
        default, end_hour, _ = PARTS_OF_DAY[part]
        day = parts.day or today
        value = datetime.combine(day, default, SHANGHAI)
        if value <= now:
            period_end = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=end_hour)
            if now < period_end:
                value = _next_full_hour(now)
            elif parts.day is None:
                value += timedelta(days=1)
        return value, "part_of_day"
    if parts.day is not None:
        value = datetime.combine(parts.day, time(9), SHANGHAI)
        if parts.day == today and value <= now:
            value = _next_full_hour(now)
        return value, "date"
    return None


def _next_full_hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def extract_time(text: str, now: datetime, blocked: list[Span]) -> tuple[TimeExpr | None, list[Span]]:
    """The first future time expression in ``text`` and the spans of every piece found.

    ``now`` may be in any time zone; it is converted to Asia/Shanghai.
    """
    if not _PIECE_MARK.search(text):
        return None, []
    now = now.astimezone(SHANGHAI) if now.tzinfo else now.replace(tzinfo=SHANGHAI)
    today = now.date()
    groups: list[_Parts] = []
    spans: list[Span] = []
    taken = Claimed(len(text), blocked)
    for m in PIECES.finditer(text):
        kind = m.lastgroup or ""
        start, end = m.span()
        if taken.overlaps(start, end):
            continue
        day: date | None = None
        past = False
        clock: tuple[int, int] | None = None
        part: str | None = None
        if kind == "part":
            part = m.group()
        elif kind == "clock":
            clock = _clock_piece(m, text, bool(groups) and groups[-1].end == start)
            if clock is None:
                continue
        else:
            day, past = _date_piece(m, kind, today)
            if day is None:
                continue
            part = _IMPLIED_PART.get(m.group())
        spans.append(Span(start, end, f"time_{kind}", m.group()))
        current = groups[-1] if groups else None
        joinable = (
            current is not None
            and start - current.end <= _MAX_GAP
            and _GAP_OK.fullmatch(text, current.end, start) is not None
            and not (day and current.day)
            and not (part and current.part)
            and not (clock and current.clock)
            and not (current.clock and not clock)  # clock comes last: "三点 明天" are two
        )
        if not joinable:
            current = _Parts(start, end)
            groups.append(current)
        if current is None:  # joinable implies a current group; kept for the type checker
            continue
        current.end = end
        current.day = current.day or day
        current.past = current.past or past
        current.part = current.part or part
        current.clock = current.clock or clock
    for group in groups:
        if group.past:
            continue
        resolved = _resolve(group, now)
        if resolved is not None:
            value, precision = resolved
            return TimeExpr(value, Span(group.start, group.end, "appointment", value.isoformat()), precision), spans
    return None, spans
