from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
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
