"""Evaluate the analyzer on a labelled JSONL file.

Each line: ``{"text", "intent", "category", "urgency", "source"}`` (and optionally ``"split"``).

    .venv/bin/python -m nlp.evaluate tests/data/nlp_eval_holdout.jsonl [--errors]
    .venv/bin/python -m nlp.evaluate nlp/corpus/real_cs.jsonl --split test [--rules] [--confusion]

``--split`` keeps only the items of that split; ``--rules`` scores the rules-only analyser
(no trained model) for comparison; ``--confusion`` prints the intent confusion matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from nlp.analyzer import Analyzer
from nlp.classify import INTENTS
from nlp.timeexpr import SHANGHAI

#: fixed reference time so that evaluation is reproducible (a Wednesday)
EVAL_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    n: int
    intent: dict[str, LabelScore]
    intent_macro_f1: float
    intent_accuracy: float
    category_accuracy: float
    urgency_accuracy: float
    errors: list[dict[str, str]]
    #: (gold, predicted) -> count
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)

    def format_confusion(self) -> str:
        """Rows: the label; columns: what the analyser said."""
        labels = [k for k in INTENTS if any(k in pair for pair in self.confusion)]
        lines = ["gold \\ said | " + " | ".join(labels), "--- | " + " | ".join("---" for _ in labels)]
        for g in labels:
            lines.append(f"{g} | " + " | ".join(str(self.confusion.get((g, p), 0)) for p in labels))
        return "\n".join(lines)

    def format(self, show_errors: bool = False) -> str:
        lines = [f"messages: {self.n}", f"{'intent':<8} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}"]
        for label, s in self.intent.items():
            lines.append(f"{label:<8} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:4d}")
        lines += [
            f"intent macro-F1:   {self.intent_macro_f1:.3f}",
            f"intent accuracy:   {self.intent_accuracy:.3f}",
            f"category accuracy: {self.category_accuracy:.3f}",
            f"urgency accuracy:  {self.urgency_accuracy:.3f}",
        ]
        if show_errors:
            for e in self.errors:
                lines.append(
                    f"  {e['field']}: want {e['want']} got {e['got']} | {e['text'][:70]}"
                )
        return "\n".join(lines)


def load_examples(path: Path, split: str | None = None) -> list[dict[str, str]]:
    examples = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"text", "intent", "category", "urgency"} - row.keys()
        if missing:
            raise ValueError(f"{path}:{lineno}: missing field(s) {', '.join(sorted(missing))}")
        if split is None or row.get("split") == split:
            examples.append(row)
    return examples


def evaluate(path: Path, analyzer: Analyzer | None = None, split: str | None = None) -> Report:
    """Per-intent precision/recall/F1, intent macro-F1 and category/urgency accuracy
    (of the items of ``split`` only, when given)."""
    analyzer = analyzer or Analyzer.load()
    examples = load_examples(path, split)
    gold: list[str] = []
    pred: list[str] = []
    cat_ok = urg_ok = 0
    errors: list[dict[str, str]] = []
    for ex in examples:
        result = analyzer.analyze(ex["text"], EVAL_NOW)
        gold.append(ex["intent"])
        pred.append(result.intent)
        for field_name, got in (("intent", result.intent), ("category", result.category), ("urgency", result.urgency)):
            if got != ex[field_name]:
                errors.append({"field": field_name, "want": ex[field_name], "got": got, "text": ex["text"]})
        cat_ok += result.category == ex["category"]
        urg_ok += result.urgency == ex["urgency"]
    scores = per_label_scores(gold, pred, INTENTS)
    n = len(examples)
    return Report(
        n=n,
        intent=scores,
        intent_macro_f1=sum(s.f1 for s in scores.values()) / len(scores) if scores else 0.0,
        intent_accuracy=sum(g == p for g, p in zip(gold, pred)) / n if n else 0.0,
        category_accuracy=cat_ok / n if n else 0.0,
        urgency_accuracy=urg_ok / n if n else 0.0,
        errors=errors,
        confusion=dict(Counter(zip(gold, pred))),
    )


def per_label_scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, LabelScore]:
    """Precision/recall/F1 for every label that occurs in ``gold`` or ``pred``."""
    result: dict[str, LabelScore] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        if tp + fp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[label] = LabelScore(precision, recall, f1, tp + fn)
    return result


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlp.evaluate", description=__doc__.split("\n")[1])
    parser.add_argument("path", type=Path)
    parser.add_argument("--errors", action="store_true", help="list every misclassified field")
    parser.add_argument("--split", help="only the items whose 'split' is this (e.g. test)")
    parser.add_argument("--rules", action="store_true", help="the rules-only analyser, without the trained model")
    parser.add_argument("--confusion", action="store_true", help="print the intent confusion matrix")
    args = parser.parse_args(argv)
    analyzer = Analyzer.load(model_path=None) if args.rules else Analyzer.load()
    report = evaluate(args.path, analyzer, args.split)
    print(report.format(show_errors=args.errors), file=out)
    if args.confusion:
        print(report.format_confusion(), file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
