"""Chinese / Arabic numeral parsing shared by amounts and time expressions."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2,
    "三": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS: dict[str, int] = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}

CN_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)
#: one number: Arabic (1,280.50 / 2.5) or Chinese (一千五百 / 十二), optionally mixed (5万2, 3千)
NUMBER_PATTERN = rf"(?:\d[\d,]*(?:\.\d+)?[{CN_CHARS}]*|[{CN_CHARS}]+)"
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
#: the big units, largest first (亿 before 万; 万 before its variant 萬)
_BIG_ORDER: tuple[tuple[str, int], ...] = tuple(sorted(BIG_UNITS.items(), key=lambda kv: -kv[1]))


def _small_section(text: str) -> Decimal | None:
    """Parse a number below 10,000 made of digits and 十/百/千 (e.g. 一千五百, 3千, 十二)."""
    total = Decimal(0)
    current: Decimal | None = None
    last_unit = 10_000
    saw_zero = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            m = _DECIMAL.match(text, i)  # at i, without copying the rest of the text
            if m is None:
                return None
            current = Decimal(m.group())
            i = m.end()
            continue
        if ch in DIGITS:
            current = Decimal(DIGITS[ch])
            saw_zero = saw_zero or current == 0
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            total += (current if current is not None else Decimal(1)) * unit
            current = None
            last_unit = unit
        else:
            return None
        i += 1
    if current is not None:
        # colloquial abbreviation: 一千五 -> 1500, 三百二 -> 320 (but 十五 -> 15)
        if total and not saw_zero and last_unit >= 100 and current < 10 and text[-1] in DIGITS:
            total += current * (last_unit // 10)
        else:
            total += current
    return total


def parse_number(text: str) -> Decimal | None:
    """Parse a Chinese, Arabic or mixed number.

    >>> parse_number("5万2"), parse_number("一千五百"), parse_number("2.5万"), parse_number("1,280.50")
    (Decimal('52000'), Decimal('1500'), Decimal('25000.0'), Decimal('1280.50'))

    What follows a big unit (万, 亿) is read in a loop, not by recursion ("万" * 1500
    used to raise RecursionError); what precedes one holds no unit as large, so that
    recursion is at most three levels deep. Terms are added right to left, as before.
    """
    text = text.replace(",", "")
    terms: list[Decimal] = []  # head × unit for each big unit read so far

    def done(rest: Decimal) -> Decimal:
        for term in reversed(terms):
            rest = term + rest
        return rest

    while True:
        if not text:
            return None
        try:
            if text.replace(".", "", 1).isdigit():
                return done(Decimal(text))
        except InvalidOperation:  # pragma: no cover - guarded by isdigit
            return None
        for big_char, big in _BIG_ORDER:
            if big_char in text:
                break
        else:
            small = _small_section(text)
            return None if small is None else done(small)
        head, _, tail = text.partition(big_char)
        head_value = parse_number(head) if head else Decimal(1)
        if head_value is None:
            return None
        if not tail:
            return done(head_value * big)
        # 5万2 / 五万二: a single trailing digit means the next unit down
        if len(tail) == 1 and (tail.isdigit() or tail in DIGITS):
            tail_value = Decimal(int(tail) if tail.isdigit() else DIGITS[tail]) * (big // 10)
            return done(head_value * big + tail_value)
        terms.append(head_value * big)
        text = tail.lstrip("零〇")


def parse_int(text: str) -> int | None:
    """Parse a small integer (hours, days, months); None when not integral."""
    value = parse_number(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)
