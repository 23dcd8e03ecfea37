from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import FrozenInstanceError

import jieba
import pytest

from nlp.analyzer import MAX_CHARS, Analyzer
from tests.nlp.conftest import NOW

ENTITY_KEYS = [
    "phones", "province", "city", "district", "address", "device", "store", "order_ids", "amounts", "appointment",
]


def test_to_dict_contract_shape(analyzer: Analyzer) -> None:
    text = "杭州西湖区文三路100号的空凋坏了，明天下午三点来，电话138-1234-5678，上次报价380元，订单号 202611231234567"
    d = analyzer.analyze(text, NOW).to_dict()
    assert list(d) == ["text", "intent", "confidence", "category", "urgency", "entities"]
    assert list(d["entities"]) == ENTITY_KEYS
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d  # plain JSON types only
    assert d["text"] == text
    assert d["intent"] == "create" and d["category"] == "repair"
    assert 0.0 <= d["confidence"] <= 1.0
    assert d["entities"] == {
        "phones": ["13812345678"],
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "杭州西湖区文三路100号",
        "device": "空调",
        "store": None,
        "order_ids": ["202611231234567"],
        "amounts": ["380"],
        "appointment": "2026-11-26T15:00:00+08:00",
    }


def test_empty_and_emoji_only_do_not_crash(analyzer: Analyzer) -> None:
    for text in ["", "   ", "😂😂😂", "👍", "\n"]:
        d = analyzer.analyze(text, NOW).to_dict()
        assert d["intent"] == "other" and d["category"] == "other" and d["urgency"] == "low"
        assert d["entities"]["phones"] == [] and d["entities"]["appointment"] is None


def test_very_long_message(analyzer: Analyzer) -> None:
    text = ("冰箱不制冷，电话13812345678。" + "这是很长的描述😊abc123，" * 400)[:5000]
    assert len(text) == 5000
    start = time.perf_counter()
    result = analyzer.analyze(text, NOW)
    assert time.perf_counter() - start < 2.0
    assert result.entities.phones == ("13812345678",)
    assert result.entities.device == "冰箱"


def test_only_the_first_max_chars_are_analysed(analyzer: Analyzer) -> None:
    assert MAX_CHARS == 2000  # intake refuses longer messages (handlers/intake.py MAX_TEXT)
    inside = "x" * (MAX_CHARS - 11) + "13812345678"
    across = "x" * (MAX_CHARS - 5) + "13812345678"
    assert analyzer.analyze(inside, NOW).entities.phones == ("13812345678",)
    result = analyzer.analyze(across, NOW)
    assert result.entities.phones == () and result.text == across
    assert all(s.end <= MAX_CHARS for s in analyzer.analyze("电话13812345678 " * 200, NOW).spans)


def test_analysis_is_frozen(analyzer: Analyzer) -> None:
    result = analyzer.analyze("你好", NOW)
    with pytest.raises(FrozenInstanceError):
        result.intent = "create"  # type: ignore[misc]


def test_spans_point_into_the_text(analyzer: Analyzer) -> None:
    text = "单号GD20261125-0007，电话13912345678"
    result = analyzer.analyze(text, NOW)
    kinds = {s.kind: text[s.start : s.end] for s in result.spans}
    assert kinds["order_id"] == "GD20261125-0007"
    assert kinds["phone"] == "13912345678"


def test_global_jieba_untouched(analyzer: Analyzer) -> None:
    assert analyzer.tokenizer is not jieba.dt
    # "软冰淇淋机" is not in jieba's own dictionary: only our private tokenizer learnt it
    assert analyzer.tokenizer.FREQ.get("软冰淇淋机", 0) > 0
    assert jieba.dt.FREQ.get("软冰淇淋机") is None


def test_import_loads_nothing_and_warns_nothing() -> None:
    code = "import jieba, nlp.analyzer, nlp.cli, nlp.evaluate; assert not jieba.dt.initialized; print('ok')"
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok" and proc.stderr == ""


def test_typo_right_after_an_address_number_is_still_a_device(analyzer):
    """jieba's HMM glues 号 and 空 together here ("100号空凋"); the typo must still match."""
    from datetime import datetime

    r = analyzer.analyze("杭州西湖区文三路100号空凋不制冷",
                         datetime.fromisoformat("2026-11-25T10:00:00+08:00"))
    e = r.to_dict()["entities"]
    assert (e["province"], e["city"], e["district"], e["device"]) == \
        ("浙江省", "杭州市", "西湖区", "空调")


def test_main_py_nlp_contract(tmp_path):
    """``python main.py nlp --now …`` reads stdin lines and prints one JSON object per line."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(root / "main.py"), "nlp", "--now", "2026-11-25T10:00:00+08:00"],
        input="3号店咖啡机坏了，明天下午三点能来修吗 +86 138-1234-5678\n\n", capture_output=True,
        text=True, encoding="utf-8", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 2
    assert set(rows[0]) == {"text", "intent", "confidence", "category", "urgency", "entities"}
    assert rows[0]["intent"] == "create" and rows[0]["category"] == "repair"
    assert rows[0]["entities"]["phones"] == ["13812345678"]
    assert rows[0]["entities"]["appointment"] == "2026-11-26T15:00:00+08:00"
    assert rows[1]["intent"] == "other"
