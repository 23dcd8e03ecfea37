from __future__ import annotations

import io
import json
from pathlib import Path

from nlp.analyzer import Analyzer
from nlp.cli import run
from nlp.evaluate import evaluate, per_label_scores
from tests.nlp.conftest import NOW

DATA = Path(__file__).resolve().parents[1] / "data"
#: the hand-written holdout is a regression set now, not the headline (docs/nlp.md): 0.940 with
#: the rules alone, 0.815 with the trained model (0.846 under the real corpus's convention,
#: where pre-sales questions are other); the headline is the real test split
#: (tests/nlp/test_intent_model.py)
HOLDOUT_MACRO_F1_FLOOR = 0.80


def test_holdout_quality_does_not_regress(analyzer: Analyzer) -> None:
    report = evaluate(DATA / "nlp_eval_holdout.jsonl", analyzer)
    assert report.n >= 120
    assert report.intent_macro_f1 >= HOLDOUT_MACRO_F1_FLOOR, report.format(show_errors=True)
    assert report.category_accuracy >= 0.85
    assert report.urgency_accuracy >= 0.83


def test_eval_set_is_large_labelled_and_split() -> None:
    rows = []
    for name in ("nlp_eval_tune.jsonl", "nlp_eval_holdout.jsonl"):
        rows += [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    assert {r["intent"] for r in rows} == {"create", "query", "urge", "cancel", "confirm", "rate", "other"}
    assert {r["category"] for r in rows} == {
        "repair", "install", "return", "complaint", "delivery", "invoice", "consult", "other",
    }
    assert all(set(r) == {"text", "intent", "category", "urgency", "source"} for r in rows)
    assert len({r["text"] for r in rows}) == len(rows)  # no message in both parts


def test_per_label_scores() -> None:
    scores = per_label_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert scores["a"].precision == 1.0 and scores["a"].recall == 0.5
    assert round(scores["b"].precision, 3) == 0.667 and scores["b"].recall == 1.0
    assert "c" not in scores


def test_cli_prints_one_json_object_per_line(analyzer: Analyzer) -> None:
    out = io.StringIO()
    run(["空凋坏了，明天下午三点来\n", "\n", "谢谢\n"], NOW, out, analyzer)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objects) == 3
    assert objects[0]["entities"]["device"] == "空调"
    assert objects[0]["entities"]["appointment"] == "2026-11-26T15:00:00+08:00"
    assert objects[1] == analyzer.analyze("", NOW).to_dict() and objects[1]["intent"] == "other"
    assert "空调" in out.getvalue()  # ensure_ascii=False
