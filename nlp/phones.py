"""Order numbers and telephone numbers.

Order ids are extracted first and their spans are handed to the phone
extractor, so a digit string introduced by 订单/单号/运单/工单… is never
reported as a phone number.

Phones are returned as digits only: mobiles as 11 digits without the
+86 / 0086 prefix, landlines as area code + number (``02112345678``), service
numbers as 10 digits (``4008208820``). Extensions (转 123, ext 12) are
dropped from the value but stay inside the raw span.
"""

from __future__ import annotations

import re
from typing import Final

from nlp.text import Claimed, Span

_ORDER_KEYWORDS: Final = (
    r"(?:订单编号|订单号码|订单号|订单|工单编号|工单号|工单|报修单号|服务单号|维修单号|售后单号|"
    r"快递单号|物流单号|运单号|运单|单号|发票号码|发票号|编号|order(?:\s*+(?:no\.?|id|number))?|no\.)"
)
_ORDER_ID: Final = r"[a-z0-9][a-z0-9_-]{3,39}"
#: one run of blanks between keyword and number: "order  no  :  12345" used to be splittable
#: between three adjacent \s* (cubic in the number of spaces when no number followed)
ORDER_AFTER_KEYWORD: Final[re.Pattern[str]] = re.compile(
    _ORDER_KEYWORDS + r"\s*+(?:(?:是|为|:|#|=)\s*+)?(" + _ORDER_ID + r")(?![a-z0-9])"
)
#: GD20261125-0007, SF1234567890123, wo-2026-0042 — letters then ≥6 digits
ORDER_STANDALONE: Final[re.Pattern[str]] = re.compile(
    r"(?<![a-z0-9])([a-z]{1,4}-?\d{6,}(?:-\d{1,8})?)(?![a-z0-9])"
)
#: plain digit runs too long to be a phone number
LONG_DIGITS: Final[re.Pattern[str]] = re.compile(
    r"(?<![\d.+])(?!(?:0086|86)1[3-9]\d{9}(?!\d))(\d{13,40})(?![\d.])"
)

_SEP: Final = r"[ \-.]?"
MOBILE: Final[re.Pattern[str]] = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86" + _SEP + r"|\(\+?86\)\s?)?"
    r"(1[3-9]\d)" + _SEP + r"(\d{4})" + _SEP + r"(\d{4})(?!\d)"
)
LANDLINE: Final[re.Pattern[str]] = re.compile(
    r"(?<![\d+])(?:(?:\+|00)86" + _SEP + r"\(?0?|\(|)"
    r"(0?(?:10|2\d|[3-9]\d\d))\)?" + _SEP + r"([1-9]\d{2,3})" + _SEP + r"(\d{4})(?!\d)"
    r"(?:\s*(?:转|ext\.?|x|-|分机)\s*\d{1,5}(?!\d))?"
)
SERVICE: Final[re.Pattern[str]] = re.compile(r"(?<!\d)([48]00)" + _SEP + r"(\d{3})" + _SEP + r"(\d{4})(?!\d)")
#: every order id and phone number above has a digit: a message without one skips the patterns
_DIGIT: Final = re.compile(r"\d")


def extract_order_ids(text: str) -> list[Span]:
    """Order / work-order / waybill numbers in the normalised ``text``."""
    spans: list[Span] = []
    if not _DIGIT.search(text):
        return spans
    claimed = Claimed(len(text))
    for pattern in (ORDER_AFTER_KEYWORD, ORDER_STANDALONE, LONG_DIGITS):
        for m in pattern.finditer(text):
            start, end = m.span(1)
            value = m.group(1)
            if not any(ch.isdigit() for ch in value) or claimed.overlaps(start, end):
                continue
            spans.append(Span(start, end, "order_id", value))
            claimed.add(start, end)
    spans.sort()
    return spans


def extract_phones(text: str, blocked: list[Span]) -> list[Span]:
    """Phone numbers outside the ``blocked`` spans (order ids), as digit strings."""
    spans: list[Span] = []
    if not _DIGIT.search(text):
        return spans
    orders = Claimed(len(text), blocked)
    for m in MOBILE.finditer(text):
        if not orders.overlaps(*m.span()):
            spans.append(Span(m.start(), m.end(), "phone", "".join(m.group(1, 2, 3))))
    claimed = Claimed(len(text), [*blocked, *spans])
    for pattern in (LANDLINE, SERVICE):
        for m in pattern.finditer(text):
            if claimed.overlaps(*m.span()):
                continue
            area = m.group(1)
            if pattern is LANDLINE and not area.startswith("0"):
                # "+86 21 1234 5678": the trunk 0 is implied after the country code
                if not m.group(0).lstrip("(").startswith(("+", "00")):
                    continue
                area = "0" + area
            digits = area + "".join(m.group(2, 3))
            spans.append(Span(m.start(), m.end(), "phone", digits))
            claimed.add(m.start(), m.end())
    spans.sort()
    return spans
