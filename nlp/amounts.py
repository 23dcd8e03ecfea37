"""Money amounts in yuan: 380元, ¥1,280.50, 5万2, 一千五百块, 3千, 2.5万, 报价1500.

An amount needs a currency marker (¥, 元, 块, rmb…), a 千/万 magnitude after
a leading digit (3千, 2.5万, 5万2, 一万二), or a price word before it
(费用/报价/价格/退款… 1500). Values are strings of Decimal yuan: integral
amounts without decimals ("52000"), others with two ("1280.50").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from nlp.numerals import CN_CHARS, DIGITS, parse_number
from nlp.text import Span, overlaps_any

_NUM: Final = rf"(?:\d[\d,]*(?:\.\d+)?|[{CN_CHARS}])+"
_CURRENCY_AFTER: Final = r"(?:元|块钱|块|圆|rmb|人民币|yuan|刀)"
_NOT_MONEY_AFTER: Final = r"(?![瓦米克升次台个件人天年月日号点分秒匹度千万斤公里平方位张套条只瓶袋箱户家小时w])"

PREFIXED: Final[re.Pattern[str]] = re.compile(rf"(?:¥|rmb|cny|人民币)\s*({_NUM})")
SUFFIXED: Final[re.Pattern[str]] = re.compile(
    rf"({_NUM})\s*{_CURRENCY_AFTER}(?:([{''.join(DIGITS)}\d])(?:毛|角)?)?"
)
MAGNITUDE: Final[re.Pattern[str]] = re.compile(rf"(?<![\d.])(\d[\d.]*(?:万|千)[\d{''.join(DIGITS)}千百十]*){_NOT_MONEY_AFTER}")
PRICE_WORD: Final[re.Pattern[str]] = re.compile(
    rf"(?:费用|价格|报价|价钱|收费|总价|金额|退款|花了|付了|收了|要价|一共|总共)\s*(?:是|为|:|要)?\s*(\d[\d,]*(?:\.\d+)?){_NOT_MONEY_AFTER}"
)
_CENT: Final = Decimal("0.01")


def format_yuan(value: Decimal) -> str:
    """380 -> "380", 25000.0 -> "25000", 1280.5 -> "1280.50"."""
    if value == value.to_integral_value():
        return str(int(value))
    return str(value.quantize(_CENT))


def _is_together(raw: str, matched: str, text: str, end: int) -> bool:
    """一块去 / 两块板子: a bare Chinese digit before 块 is a piece, not money."""
    return raw in DIGITS and matched.endswith("块") and not text.startswith("钱", end)


def extract_amounts(text: str, blocked: list[Span]) -> list[Span]:
    """Amounts in the normalised ``text`` outside ``blocked`` spans (phones, order ids, times)."""
    spans: list[Span] = []
    for pattern in (PREFIXED, SUFFIXED, MAGNITUDE, PRICE_WORD):
        for m in pattern.finditer(text):
            start, end = m.span()
            if overlaps_any(blocked, start, end) or overlaps_any(spans, start, end):
                continue
            raw = m.group(1)
            if raw[0] in "千万百十" and pattern is not SUFFIXED:
                continue  # 千万不要 / 万一 are not money
            value = parse_number(raw)
            if value is None or value <= 0:
                continue
            if pattern is SUFFIXED and _is_together(raw, m.group(0), text, end):
                continue
            if pattern is SUFFIXED and m.group(2):  # 12块5 -> 12.5
                tenth = m.group(2)
                value += Decimal(int(tenth) if tenth.isdigit() else DIGITS[tenth]) / 10
            spans.append(Span(start, end, "amount", format_yuan(value)))
    spans.sort()
    return spans
