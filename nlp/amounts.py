"""Money amounts in yuan: 380元, ¥1,280.50, 5万2, 一千五百块, 3千, 2.5万, 报价1500.

An amount needs a currency marker (¥, 元, 块, rmb…), a 千/万 magnitude after
a leading digit (3千, 2.5万, 5万2, 一万二), or a price word before it
(费用/报价/价格/退款… 1500). Values are strings of Decimal yuan: integral
amounts without decimals ("52000"), others with two ("1280.50").

Every pattern here runs in time linear in the text (issue 9): the number
grammar used to be ``(?:\\d[\\d,]*(?:\\.\\d+)?|[一…万])+``, whose repeated
alternative can split a digit run in exponentially many ways ("1" * 24 took
2.9 s, and each further digit doubled it). Numbers are now matched possessively (``*+``, ``++``: the engine never
backtracks into them) and amounts written before a currency word are found by
a scanner (:func:`_suffixed`) instead of a regex that retried every start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Final

from nlp.numerals import CN_CHARS, DIGITS, parse_number
from nlp.text import Claimed, Span

_CN_DIGITS: Final = "".join(DIGITS)
#: One number: single Chinese numerals and Arabic groups (1,280.50) in any order
#: (5万2, 2.5万, 一千五百). Possessive: a digit run is read one way only, greedily,
#: exactly the first way the old backtracking pattern tried.
_NUM: Final = rf"(?:[{CN_CHARS}]|\d[\d,]*+(?:\.\d++)?+)++"
_CURRENCY_AFTER: Final = r"(?:元|块钱|块|圆|rmb|人民币|yuan|刀)"
_NOT_MONEY_AFTER: Final = r"(?![瓦米克升次台个件人天年月日号点分秒匹度千万斤公里平方位张套条只瓶袋箱户家小时w])"

PREFIXED: Final[re.Pattern[str]] = re.compile(rf"(?:¥|rmb|cny|人民币)\s*+({_NUM})")
#: a maximal run of the characters a number is made of
NUMBER_RUN: Final[re.Pattern[str]] = re.compile(rf"[\d,.{CN_CHARS}]++")
#: what must follow a number for it to be money: 元 / 块(钱) …, then an optional tenth (12块5, 3元5角).
#: Anchored use only (``.match`` at the end of a run): searched, a run of blanks would be rescanned.
CURRENCY_TAIL: Final[re.Pattern[str]] = re.compile(
    rf"\s*+{_CURRENCY_AFTER}(?:([{_CN_DIGITS}\d])(?:毛|角)?)?"
)
#: places where a number cannot go on: a Chinese numeral before , or . (万,); a . not followed
#: by a digit (3.); a , or . right after a decimal (1.5,3). Zero-width, so every place is found.
_BREAK: Final[re.Pattern[str]] = re.compile(rf"(?=[{CN_CHARS}][,.]|\.(?!\d)|\.\d[,.])")
#: MAGNITUDE and PRICE_WORD end in the unit check; read possessively, a number followed by a
#: unit is rejected whole (一共15个, 报价1500瓦, 3千5瓦), where backtracking used to shorten it
#: until the check passed (amounts 1, 150, 3000).
MAGNITUDE: Final[re.Pattern[str]] = re.compile(
    rf"(?<![\d.])(\d[\d.]*+[万千][\d{_CN_DIGITS}千百十]*+){_NOT_MONEY_AFTER}"
)
PRICE_WORD: Final[re.Pattern[str]] = re.compile(
    r"(?:费用|价格|报价|价钱|收费|总价|金额|退款|花了|付了|收了|要价|一共|总共)\s*+(?:(?:是|为|:|要)\s*+)?"
    rf"(\d[\d,]*+(?:\.\d++)?+){_NOT_MONEY_AFTER}"
)
_CENT: Final = Decimal("0.01")
#: every amount above has a digit or a currency word: a message with neither skips the patterns
_MAYBE_MONEY: Final[re.Pattern[str]] = re.compile(r"\d|[¥元块圆刀]|rmb|cny|yuan|人民币")

#: (start, end, number as written, tenth digit after the currency word or None, whole match)
_Candidate = tuple[int, int, str, str | None, str]


def format_yuan(value: Decimal) -> str:
    """380 -> "380", 25000.0 -> "25000", 1280.5 -> "1280.50" (any size: no overflow)."""
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    # the default 28-digit context would raise InvalidOperation for 12345678901234567890123456789.5
    return str(value.quantize(_CENT, context=Context(prec=max(28, value.adjusted() + 3))))


def _is_together(raw: str, matched: str, text: str, end: int) -> bool:
    """一块去 / 两块板子: a bare Chinese digit before 块 is a piece, not money."""
    return raw in DIGITS and matched.endswith("块") and not text.startswith("钱", end)


def _suffixed(text: str) -> Iterator[_Candidate]:
    """Numbers followed by a currency word (380元, 一千五百块, 12块5), left to right.

    The number ends where its run of number characters ends (a currency word or a
    space is not one of them) and starts at the first place of the run after which
    it can be read to the end, i.e. after the last :data:`_BREAK` — as the old
    pattern did by retrying each start ("5万,3000元" → 3000), but in one pass.
    """
    pos = 0  # a tenth digit (3元5) belongs to the previous match
    for run in NUMBER_RUN.finditer(text):
        run_start, run_end = run.span()
        tail = CURRENCY_TAIL.match(text, run_end)
        if tail is None:
            continue
        start = max(run_start, pos)
        for brk in _BREAK.finditer(text, start, run_end):
            start = brk.start() + 1
        while start < run_end and text[start] in ",.":
            start += 1
        if start >= run_end:
            continue
        pos = tail.end()
        yield start, pos, text[start:run_end], tail.group(1), text[start:pos]


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[_Candidate]:
    for m in pattern.finditer(text):
        yield m.start(), m.end(), m.group(1), None, m.group(0)


def extract_amounts(text: str, blocked: list[Span]) -> list[Span]:
    """Amounts in the normalised ``text`` outside ``blocked`` spans (phones, order ids, times)."""
    spans: list[Span] = []
    if not _MAYBE_MONEY.search(text):
        return spans
    claimed = Claimed(len(text), blocked)
    sources = (
        (_matches(PREFIXED, text), False),
        (_suffixed(text), True),
        (_matches(MAGNITUDE, text), False),
        (_matches(PRICE_WORD, text), False),
    )
    for candidates, suffixed in sources:
        for start, end, raw, tenth, matched in candidates:
            if claimed.overlaps(start, end):
                continue
            if raw[0] in "千万百十" and not suffixed:
                continue  # 千万不要 / 万一 are not money
            value = parse_number(raw)
            if value is None or value <= 0:
                continue
            if suffixed and _is_together(raw, matched, text, end):
                continue
            if tenth:  # 12块5 -> 12.5
                value += Decimal(int(tenth) if tenth.isdigit() else DIGITS[tenth]) / 10
            spans.append(Span(start, end, "amount", format_yuan(value)))
            claimed.add(start, end)
    spans.sort()
    return spans
