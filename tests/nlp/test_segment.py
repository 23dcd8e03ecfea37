"""nlp.segment: one jieba pass gives exactly both segmentations jieba would."""

from __future__ import annotations

import json
from itertools import accumulate
from pathlib import Path

import pytest

from nlp.analyzer import Analyzer
from nlp.segment import segment
from nlp.text import normalize

ROOT = Path(__file__).resolve().parents[2]
SHAPES = ["100号空凋坏了", "abc123 def 空调 E1 \r\n x", "POS机 pos 1a2b3c 三三三三", "  ", "GD20261125-0007 进度",
          "😀@张三 你好！！", "三" * 300, "1" * 50 + "元", "ｆｕｌｌ ｗｉｄｔｈ", "a-b_c.d%e#f&g+h"]


def _texts() -> list[str]:
    texts = list(SHAPES)
    for path in (ROOT / "tests" / "data" / "nlp_eval_tune.jsonl", ROOT / "nlp" / "corpus" / "real_cs.jsonl"):
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


@pytest.mark.parametrize("chunk", range(4))
def test_segment_equals_both_jieba_cuts(analyzer: Analyzer, chunk: int) -> None:
    texts = _texts()[chunk::4]
    for text in texts:
        norm = normalize(text)
        tokens, starts = segment(analyzer.tokenizer, norm)
        assert tokens == analyzer.tokenizer.lcut(norm), text
        plain = analyzer.tokenizer.lcut(norm, HMM=False)
        assert starts == set(accumulate((len(t) for t in plain), initial=0)) - {len(norm)}, text
