from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.amounts import _CURRENCY_AFTER, MAGNITUDE, PRICE_WORD, extract_amounts, format_yuan
from nlp.analyzer import Analyzer
from nlp.numerals import CN_CHARS, DIGITS, parse_number
from nlp.text import Span
from tests.nlp.conftest import NOW


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("上门费380元", ["380"]),
        ("预算5万2", ["52000"]),
        ("一千五百块", ["1500"]),
        ("¥1,280.50", ["1280.50"]),
        ("￥1,280.50", ["1280.50"]),
        ("大概3千", ["3000"]),
        ("2.5万的设备", ["25000"]),
        ("报价1500", ["1500"]),
        ("收了我两百块钱", ["200"]),
        ("RMB 200", ["200"]),
        ("上门费说好50块，结果收了150元", ["50", "150"]),
    ],
)
def test_amounts(analyzer: Analyzer, text: str, amounts: list[str]) -> None:
    assert list(analyzer.analyze(text, NOW).entities.amounts) == amounts


@pytest.mark.parametrize(
    "text",
    ["千万别来", "万一又坏了", "3千瓦的机器", "1.5匹空调", "我们一块去", "明天下午三点", "电话13812345678", "订单号 202611231234567"],
)
def test_not_amounts(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(text, NOW).entities.amounts == ()


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("12块5", ["12.50"]),
        ("3元5角", ["3.50"]),
        ("5万,3000元", ["50000", "3000"]),  # a number may start after a break in its run (万,)
        ("一共15个，报价1500元", ["1500"]),
        ("12345678901234567890123456789.5元", ["12345678901234567890123456789.50"]),  # was InvalidOperation
        ("万" * 1500 + "元", ["15000000"]),  # was RecursionError
    ],
)
def test_amount_edge_cases(analyzer: Analyzer, text: str, amounts: list[str]) -> None:
    assert list(analyzer.analyze(text, NOW).entities.amounts) == amounts


@pytest.mark.parametrize("text", ["一共15个", "收了200次", "报价1500瓦", "费用1.5匹", "3千5瓦", "5万2千瓦"])
def test_a_number_followed_by_a_unit_is_not_shortened_into_money(analyzer: Analyzer, text: str) -> None:
    """The old patterns backtracked out of the unit check: 一共15个 gave 1 yuan, 报价1500瓦 150."""
    assert analyzer.analyze(text, NOW).entities.amounts == ()


@pytest.mark.parametrize(
    ("text", "order_ids", "phones"),
    [
        ("1" * 26, ["1" * 26], []),
        ("订单号" + "1" * 25, ["1" * 25], []),
        ("13812345678 " * 10, [], ["13812345678"]),
        ("13812345678" * 10, [], []),  # 110 digits: neither an order id (≤ 40) nor a phone
    ],
)
def test_issue_9_digit_runs_still_read_the_same(analyzer: Analyzer, text: str, order_ids: list[str],
                                                phones: list[str]) -> None:
    """Issue 9's inputs that took seconds (timed in tests/reliability/test_fuzz_analyze.py)."""
    entities = analyzer.analyze(text, NOW).entities
    assert (list(entities.order_ids), list(entities.phones), entities.amounts) == (order_ids, phones, ())


# -- the old grammar as a reference: same amounts on short texts -----------------------------------

_OLD_NUM = rf"(?:\d[\d,]*(?:\.\d+)?|[{CN_CHARS}])+"  # exponential on long runs, fine on short ones
_OLD_PREFIXED = re.compile(rf"(?:¥|rmb|cny|人民币)\s*({_OLD_NUM})")
_OLD_SUFFIXED = re.compile(rf"({_OLD_NUM})\s*{_CURRENCY_AFTER}(?:([{''.join(DIGITS)}\d])(?:毛|角)?)?")


def _old_extract_amounts(text: str) -> list[Span]:
    """extract_amounts as it was before issue 9, with today's MAGNITUDE and PRICE_WORD."""
    spans: list[Span] = []
    for pattern in (_OLD_PREFIXED, _OLD_SUFFIXED, MAGNITUDE, PRICE_WORD):
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(s.overlaps(start, end) for s in spans):
                continue
            raw = m.group(1)
            if raw[0] in "千万百十" and pattern is not _OLD_SUFFIXED:
                continue
            value = parse_number(raw)
            if value is None or value <= 0:
                continue
            if pattern is _OLD_SUFFIXED and raw in DIGITS and m.group(0).endswith("块") \
                    and not text.startswith("钱", end):
                continue
            if pattern is _OLD_SUFFIXED and m.group(2):
                tenth = m.group(2)
                value += Decimal(int(tenth) if tenth.isdigit() else DIGITS[tenth]) / 10
            spans.append(Span(start, end, "amount", format_yuan(value)))
    return sorted(spans)


_PIECES = [*"0123456789", *"0123456789", ",", ".", ",", ".", *"一二两三五十百千万亿零〇", "元", "块", "块钱",
           "圆", "rmb", "¥", " ", "瓦", "个", "毛", "角", "报价", "一共", "是", "x"]


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join))
def test_same_amounts_as_the_old_grammar(text: str) -> None:
    """The linear scanner finds exactly what the backtracking pattern found (where it finished)."""
    assert extract_amounts(text, []) == _old_extract_amounts(text)
