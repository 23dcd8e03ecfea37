from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
from tests.nlp.conftest import NOW


@pytest.mark.parametrize(
    ("text", "intent", "category"),
    [
        ("门店的冰箱不制冷了，麻烦派人来看看", "create", "repair"),
        ("新店下周一开业，需要装3台冷柜", "create", "install"),
        ("收到的咖啡机外壳有划痕，我要退货", "create", "return"),
        ("投诉！安装师傅把我家墙打坏了", "create", "complaint"),
        ("请帮我开一张增值税专用发票", "create", "invoice"),
        ("门店订的两台冷柜能不能明天送货", "create", "delivery"),
        ("帮我查下工单WO-2026-0042的进度", "query", "repair"),
        # a pre-sales question: no ticket to query (issue 12): other, category consult
        ("请问你们这款咖啡机保修几年？", "other", "consult"),
        ("订单号 202611201111222 到哪了", "query", "delivery"),
        ("报修三天了还没人来，到底什么时候修？？", "urge", "repair"),
        ("发票催了好几次了，尽快开", "urge", "invoice"),
        ("空调已经好了，不用来修了，取消报修", "cancel", "repair"),
        ("热水器安装先取消吧", "cancel", "install"),
        ("好的，明天下午三点可以，在家等师傅", "confirm", "repair"),
        ("确认周六上午安装", "confirm", "install"),
        ("师傅很专业，修得很快，五星好评", "rate", "repair"),
        ("客服态度超好，五星", "rate", "other"),
        ("你好", "other", "other"),
        ("😂😂😂", "other", "other"),
    ],
)
def test_intent_and_category(analyzer: Analyzer, text: str, intent: str, category: str) -> None:
    result = analyzer.analyze(text, NOW)
    assert (result.intent, result.category) == (intent, category)


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("后厨油烟机冒烟了！！！", "urgent"),
        ("店里闻到很重的煤气味", "urgent"),
        ("热水器漏电，刚才洗手被电了一下", "urgent"),
        ("收银机死机了，现在收不了钱，顾客在排队", "high"),
        ("门店断网了，外卖单子都接不了", "high"),
        ("报修三天了还没人来", "high"),
        ("油烟机噪音特别大", "normal"),
        ("净水器买了还没装，不着急，下个月都行", "low"),
        ("请问空调清洗一次多少钱？", "low"),
        ("师傅很专业，五星好评", "low"),
    ],
)
def test_urgency(analyzer: Analyzer, text: str, urgency: str) -> None:
    assert analyzer.analyze(text, NOW).urgency == urgency


def test_faults_and_brand_exposed(analyzer: Analyzer) -> None:
    result = analyzer.analyze("格力空调不制冷，还漏水", NOW)
    assert result.brand == "格力"
    assert set(result.faults) == {"不制冷", "漏水"}
