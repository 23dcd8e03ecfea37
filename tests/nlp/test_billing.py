"""Answers to a statement: 确认账单 confirms, complaints about the bill dispute."""

from __future__ import annotations

import pytest

from nlp.billing import bill_answer


@pytest.mark.parametrize("text,answer", [
    ("确认账单 GD20261125-0001", "confirm"), ("账单没问题", "confirm"), ("确认结算单", "confirm"),
    ("异议，工时只有1小时", "dispute"), ("账单不对", "dispute"), ("收费太高", "dispute"),
    ("多收了我50元", "dispute"),
    ("确认", None), ("咖啡机又坏了", None), ("进度怎么样", None), ("", None),
])
def test_bill_answers(text, answer):
    assert bill_answer(text) == answer
