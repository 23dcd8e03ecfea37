from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
from tests.nlp.conftest import NOW


@pytest.mark.parametrize(
    ("text", "device"),
    [
        ("空调坏了", "空调"),
        ("空凋坏了", "空调"),
        ("咖啡鸡不出水", "咖啡机"),
        ("冰相不冷", "冰箱"),
        ("油烟鸡不吸烟", "油烟机"),
        ("热水气没热水", "热水器"),
        ("抽油烟机噪音大", "油烟机"),
        ("POS机刷不了卡", "POS机"),
        ("收银机死机", "POS机"),
        ("wifi连不上", "网络"),
        ("aircon not cooling", "空调"),
    ],
)
def test_device_matching_tolerates_typos(analyzer: Analyzer, text: str, device: str) -> None:
    assert analyzer.analyze(text, NOW).entities.device == device


@pytest.mark.parametrize("text", ["这个空间太小", "空气不好", "收到，下周一上午九点门店开门等你们", "position", "谢谢"])
def test_no_device_from_ordinary_words(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(text, NOW).entities.device is None


@pytest.mark.parametrize(
    ("text", "store"),
    [
        ("人民广场店冰箱坏了", "人民广场店"),
        ("人广店冰箱坏了", "人民广场店"),  # alias
        ("人民广常店冰箱坏了", "人民广场店"),  # typo
        ("我在徐家会店", "徐家汇店"),
        ("静安寺点的空调", "静安寺店"),
    ],
)
def test_store_matching(analyzer: Analyzer, text: str, store: str) -> None:
    assert analyzer.analyze(text, NOW).entities.store == store


def test_config_catalogue_extends_shipped_one(tmp_path) -> None:
    (tmp_path / "devices.txt").write_text("蒸汽清洗机 | 高温清洗机\n", encoding="utf-8")
    (tmp_path / "stores.txt").write_text("南京西路店 | 恒隆店, 南西店\n", encoding="utf-8")
    custom = Analyzer.load(tmp_path)
    e = custom.analyze("恒隆店的高温清洗机坏了", NOW).entities
    assert (e.device, e.store) == ("蒸汽清洗机", "南京西路店")
    assert custom.analyze("空凋坏了", NOW).entities.device == "空调"  # shipped catalogue still there
