from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
from nlp.regions import Gazetteer
from tests.nlp.conftest import NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("杭州西湖区文三路100号", ("浙江省", "杭州市", "西湖区")),
        ("上海浦东张江路88号", ("上海市", "上海市", "浦东新区")),
        ("我在浦东新区", ("上海市", "上海市", "浦东新区")),
        ("上海市黄浦区南京东路100号", ("上海市", "上海市", "黄浦区")),  # 南京 here is a street
        ("长春朝阳区", ("吉林省", "长春市", "朝阳区")),
        ("北京朝阳区望京SOHO", ("北京市", "北京市", "朝阳区")),
        ("广西南宁青秀区", ("广西壮族自治区", "南宁市", "青秀区")),
        ("深圳南山科技园", ("广东省", "深圳市", "南山区")),
        ("成都武侯区人民南路四段12号", ("四川省", "成都市", "武侯区")),
        ("杭州余杭区", ("浙江省", "杭州市", "余杭区")),
        ("临平区", ("浙江省", "杭州市", "临平区")),  # district unique in China -> city inferred
        ("苏州", ("江苏省", "苏州市", None)),
        ("延边", ("吉林省", "延边朝鲜族自治州", None)),
        ("仙桃", ("湖北省", "仙桃市", None)),
        ("吉林", ("吉林省", None, None)),
        ("重庆城口县", ("重庆市", "重庆市", "城口县")),
    ],
)
def test_region_inference(analyzer: Analyzer, text: str, expected: tuple[str | None, ...]) -> None:
    e = analyzer.analyze(text, NOW).entities
    assert (e.province, e.city, e.district) == expected


def test_ambiguous_district_keeps_only_the_district(analyzer: Analyzer) -> None:
    e = analyzer.analyze("鼓楼区", NOW).entities  # 南京, 福州, 开封, 徐州 … all have one
    assert (e.province, e.city, e.district) == (None, None, "鼓楼区")


@pytest.mark.parametrize("text", ["阿里云服务器挂了", "中山路的店", "西湖边", "千万别来", "大同小异"])
def test_no_false_regions(analyzer: Analyzer, text: str) -> None:
    e = analyzer.analyze(text, NOW).entities
    assert (e.province, e.city, e.district) == (None, None, None)


def test_a_place_named_many_times_resolves_as_once(analyzer: Analyzer) -> None:
    # support used to compare every hit with every other hit (a million comparisons here)
    e = analyzer.analyze("杭州西湖区" * 400, NOW)
    assert (e.entities.province, e.entities.city, e.entities.district) == ("浙江省", "杭州市", "西湖区")
    assert len([s for s in e.spans if s.kind.startswith("region_")]) == 800
    e = analyzer.analyze("朝阳区" * 600, NOW).entities
    assert (e.province, e.city, e.district) == (None, None, "朝阳区")


def test_gazetteer_is_complete() -> None:
    g = Gazetteer()
    names = set(g.names())
    assert g.size > 3000  # 34 provinces, 333 prefectures, ~2,840 counties
    assert {"新疆维吾尔自治区", "香港特别行政区", "钱塘区", "临平区", "白杨市", "神农架林区"} <= names


def test_address(analyzer: Analyzer) -> None:
    e = analyzer.analyze("地址：江苏省苏州市工业园区星湖街328号，电话13812345678", NOW).entities
    assert e.address == "江苏省苏州市工业园区星湖街328号"
    assert (e.province, e.city) == ("江苏省", "苏州市")
    e = analyzer.analyze("上海浦东张江路88号3楼咖啡机坏了", NOW).entities
    assert e.address == "上海浦东张江路88号3楼"
