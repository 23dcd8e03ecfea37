"""A store named in answer to "哪家门店" (nlp.field_values.store_name): the name, whatever is
said around it, and nothing for words that only contain 店."""

from __future__ import annotations

import pytest

from nlp.field_values import store_name


@pytest.mark.parametrize("text,name", [
    ("3号店", "3号店"), ("就是3号店啊", "3号店"), ("二号门店", "二号门店"),
    ("南京东路店", "南京东路店"), ("在徐家汇分店", "徐家汇分店"), ("万达广场旗舰店", "万达广场旗舰店"),
    ("我们是人民广场店的", "人民广场店"), ("3号店咖啡机坏了，今天能来修吗 13812345678", "3号店"),
])
def test_a_store_name_is_read_from_what_is_said_around_it(text, name):
    assert store_name(text) == name


@pytest.mark.parametrize("text", [
    "我们店里", "我们店", "店长说明天再来", "本店", "这家店", "上海市黄浦区南京东路100号",
    "咖啡机坏了", "不知道", "", "去实体店", "其他店", "联系了店家",
])
def test_words_that_only_contain_a_store_character_name_no_store(text):
    assert store_name(text) is None


def test_in_a_whole_report_only_a_numbered_store_counts():
    """Real customers' reviews (nlp/corpus/real_cs.jsonl) name 实体店, 其他店, 店家 …: in free
    text only 3号店-like names are taken, and none of those 1,017 real messages has one."""
    import json
    from pathlib import Path

    corpus = Path(__file__).resolve().parents[2] / "nlp" / "corpus" / "real_cs.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    assert len(texts) > 1000
    assert [t for t in texts if store_name(t, numbered=True)] == []
    assert store_name("3号店咖啡机坏了，今天能来修吗 13812345678", numbered=True) == "3号店"
    assert store_name("13号店的冰箱", numbered=True) == "13号店"
    assert store_name("12月3号店里没人", numbered=True) is None
