from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
from tests.nlp.conftest import NOW


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("电话13812345678", ["13812345678"]),
        ("手机 +86 138 1234 5678 谢谢", ["13812345678"]),
        ("+8613812345678", ["13812345678"]),
        ("0086-13812345678", ["13812345678"]),
        ("联系 138-1234-5678", ["13812345678"]),
        ("联系 138 1234 5678", ["13812345678"]),
        ("座机(021)1234-5678", ["02112345678"]),
        ("座机021-12345678转801", ["02112345678"]),
        ("0571-87654321", ["057187654321"]),
        ("北京 010 6552 1234", ["01065521234"]),
        ("+86 21 1234 5678", ["02112345678"]),
        ("客服400-820-8820", ["4008208820"]),
        ("１３８１２３４５６７８", ["13812345678"]),  # full-width digits
        ("两个号码 13812345678 / 13987654321", ["13812345678", "13987654321"]),
    ],
)
def test_phone_formats(analyzer: Analyzer, text: str, phones: list[str]) -> None:
    assert list(analyzer.analyze(text, NOW).entities.phones) == phones


@pytest.mark.parametrize(
    ("text", "order_ids"),
    [
        ("订单号 202611231234567 到哪了", ["202611231234567"]),
        ("单号GD20261125-0007", ["GD20261125-0007"]),
        ("运单号:SF1234567890123", ["SF1234567890123"]),
        ("订单13812345678", ["13812345678"]),  # looks like a mobile, but follows 订单
        ("工单 WO-2026-0042 进度", ["WO-2026-0042"]),
        ("订单12345678901234 取消", ["12345678901234"]),
    ],
)
def test_order_ids_are_not_phones(analyzer: Analyzer, text: str, order_ids: list[str]) -> None:
    entities = analyzer.analyze(text, NOW).entities
    assert list(entities.order_ids) == order_ids
    assert entities.phones == ()


def test_order_id_and_phone_in_one_message(analyzer: Analyzer) -> None:
    e = analyzer.analyze("单号GD20261125-0007，联系人手机139 0000 1234", NOW).entities
    assert e.order_ids == ("GD20261125-0007",)
    assert e.phones == ("13900001234",)


@pytest.mark.parametrize("text", ["2026-11-25 10:00", "价格1280.50元", "10086", "温度12度"])
def test_no_false_phones(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(text, NOW).entities.phones == ()


@pytest.mark.parametrize("text", ["8613812345678", "008613812345678"])
def test_country_code_without_plus(analyzer: Analyzer, text: str) -> None:
    e = analyzer.analyze(text, NOW).entities
    assert (e.phones, e.order_ids) == (("13812345678",), ())
