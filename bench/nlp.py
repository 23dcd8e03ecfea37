"""Throughput benchmark of the NLP layer on one core.

    .venv/bin/python bench/nlp.py [--rounds 20]

Loads the analyzer once, then analyses every message of a set ``rounds`` times and prints
messages/s, next to a baseline measured in the same run (bare ``tokenizer.lcut`` of the same
messages with the same private tokenizer). The two are timed in alternating passes and each
keeps its fastest pass, so another process on the machine slows both alike instead of
whichever happened to run while it was busy. Two sets: the 393 hand-written messages (short,
the figure reported since issue 9) and the 1,017 real customer turns of ``nlp/corpus``
(longer: reviews). The trained intent model's share of ``analyze()`` is the time of
``IntentModel.probabilities`` + ``decide`` on the same messages (tokens computed beforehand)
divided by the time of ``analyze()``; and, measured the other way, the difference between
``analyze()`` and the rules-only ``analyze()`` (``intent_model=None``) in the same run, which
also counts what the model costs the rest of the pipeline in CPU caches.

Then the worst case (issue 9): hostile messages of ``MAX_CHARS`` characters — digit runs,
phone numbers written together, Chinese numerals, blanks after keywords … — each analysed
a few times; prints the slowest shape in ms and µs per character, next to ``lcut`` of the
same text. Every stage is linear, so this stays in tens of milliseconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.analyzer import MAX_CHARS, Analyzer  # noqa: E402
from nlp.evaluate import EVAL_NOW  # noqa: E402
from nlp.intent_model import decide  # noqa: E402
from nlp.text import normalize  # noqa: E402


def _messages() -> list[str]:
    texts: list[str] = []
    for name in ("nlp_eval_tune.jsonl", "nlp_eval_holdout.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def _real_messages() -> list[str]:
    path = ROOT / "nlp" / "corpus" / "real_cs.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rates(fns: list[Callable[[str], object]], messages: list[str], rounds: int) -> list[float]:
    """messages/s of each function: fastest of ``rounds`` passes, the functions alternating."""
    for fn in fns:
        for text in messages:  # warm-up (jieba caches, regex compilation)
            fn(text)
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for text in messages:
                fn(text)
            best[k] = min(best[k], time.perf_counter() - start)
    return [len(messages) / b for b in best]


def _model_part(analyzer: Analyzer, messages: list[str]) -> Callable[[str], object]:
    """The intent model's own work for a message: probabilities + combination with the rules."""
    model = analyzer.intent_model
    assert model is not None
    prepared = {}
    for text in messages:
        norm = normalize(text[:MAX_CHARS])
        prepared[text] = (norm, tuple(analyzer.segment(norm)[0]), analyzer.analyze(text, EVAL_NOW).intent)

    def run(text: str) -> object:
        norm, tokens, rule_intent = prepared[text]
        return decide(model.probabilities(norm, tokens, rule_intent), norm)

    return run


def _report(name: str, analyzer: Analyzer, messages: list[str], rounds: int) -> float:
    rules_only = dataclasses.replace(analyzer, intent_model=None)
    full, base, model, rules = _rates(
        [lambda t: analyzer.analyze(t, EVAL_NOW), analyzer.tokenizer.lcut, _model_part(analyzer, messages),
         lambda t: rules_only.analyze(t, EVAL_NOW)],
        messages, rounds)
    avg_len = sum(map(len, messages)) / len(messages)
    print(f"{name}: {len(messages)} messages (avg {avg_len:.0f} chars), best of {rounds} passes, one core")
    print(f"  analyze():            {full:10,.0f} messages/s")
    print(f"  baseline lcut():      {base:10,.0f} messages/s  (analyze costs {base / full:.2f}x tokenising alone)")
    print(f"  intent model alone:   {model:10,.0f} messages/s  ({full / model:.0%} of analyze())")
    print(f"  analyze(), no model:  {rules:10,.0f} messages/s  (the model adds {(1 / full - 1 / rules) * 1e6:.0f} µs "
          f"per message in the pipeline: {1 - full / rules:.0%} of analyze())")
    return full


#: (name, prefix, repeated unit): one shape per pattern family that used to backtrack
HOSTILE: tuple[tuple[str, str, str], ...] = (
    ("digits", "", "1"), ("order number + digits", "订单号", "1"), ("digits and commas", "", "1,"),
    ("phones written together", "", "13812345678"), ("phones", "", "13812345678 "),
    ("chinese numerals", "", "一二三四五六七八九十百千万"), ("万", "", "万"), ("1元", "", "1元"),
    ("order + blanks", "order", " "), ("price word + blanks", "费用", " "), ("city", "", "杭州"),
    ("ambiguous district", "", "朝阳区"), ("三 (jieba HMM)", "", "三"), ("address letters", "地址", "a"),
    ("order ids", "", "GD20261125-0007 "), ("emoji + mentions", "", "😀@张三 "),
)


def _worst_case(analyzer: Analyzer, repeats: int = 3) -> tuple[str, float, float]:
    """(shape, seconds per analysis, seconds per lcut of the same text) of the slowest shape."""
    worst = ("", 0.0, 0.0)
    for name, prefix, unit in HOSTILE:
        text = (prefix + unit * MAX_CHARS)[:MAX_CHARS]
        spent = min(_once(lambda: analyzer.analyze(text, EVAL_NOW)) for _ in range(repeats))
        if spent > worst[1]:
            worst = (name, spent, min(_once(lambda: analyzer.tokenizer.lcut(text)) for _ in range(repeats)))
    return worst


def _once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    t0 = time.perf_counter()
    analyzer = Analyzer.load()
    load_s = time.perf_counter() - t0
    print(f"Analyzer.load(): {load_s:.2f} s (intent model: {analyzer.intent_model.n_features:,} features)")
    _report("hand-written set", analyzer, _messages(), args.rounds)
    _report("real corpus", analyzer, _real_messages(), max(3, args.rounds // 4))
    shape, worst, worst_lcut = _worst_case(analyzer)
    print(f"worst hostile {MAX_CHARS}-char message ({len(HOSTILE)} shapes): {shape!r}: "
          f"{worst * 1000:.1f} ms, {worst / MAX_CHARS * 1e6:.1f} µs/char "
          f"(lcut of the same text {worst_lcut * 1000:.1f} ms, {worst / worst_lcut:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
