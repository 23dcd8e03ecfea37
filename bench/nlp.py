"""Throughput benchmark of the NLP layer on one core.

    .venv/bin/python bench/nlp.py [--rounds 20]

Loads the analyzer once, then analyses every evaluation message ``rounds``
times and prints messages/s, next to a baseline measured in the same run
(bare ``tokenizer.lcut`` of the same messages with the same private tokenizer).

Then the worst case (issue 9): hostile messages of ``MAX_CHARS`` characters — digit runs,
phone numbers written together, Chinese numerals, blanks after keywords … — each analysed
a few times; prints the slowest shape in ms and µs per character, next to ``lcut`` of the
same text. Every stage is linear, so this stays in tens of milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.analyzer import MAX_CHARS, Analyzer  # noqa: E402
from nlp.evaluate import EVAL_NOW  # noqa: E402


def _messages() -> list[str]:
    texts: list[str] = []
    for name in ("nlp_eval_tune.jsonl", "nlp_eval_holdout.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def _rate(fn: Callable[[str], object], messages: list[str], rounds: int) -> float:
    for text in messages:  # warm-up (jieba caches, regex compilation)
        fn(text)
    start = time.perf_counter()
    for _ in range(rounds):
        for text in messages:
            fn(text)
    return rounds * len(messages) / (time.perf_counter() - start)


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
    messages = _messages()
    avg_len = sum(map(len, messages)) / len(messages)
    full = _rate(lambda t: analyzer.analyze(t, EVAL_NOW), messages, args.rounds)
    base = _rate(analyzer.tokenizer.lcut, messages, args.rounds)
    print(f"Analyzer.load(): {load_s:.2f} s")
    print(f"messages: {len(messages)} (avg {avg_len:.0f} chars) x {args.rounds} rounds, one core")
    print(f"analyze():            {full:10,.0f} messages/s")
    print(f"baseline lcut():      {base:10,.0f} messages/s")
    print(f"analyze / baseline:   {full / base:10.2f}x (cost relative to tokenising alone: {base / full:.2f}x)")
    shape, worst, worst_lcut = _worst_case(analyzer)
    print(f"worst hostile {MAX_CHARS}-char message ({len(HOSTILE)} shapes): {shape!r}: "
          f"{worst * 1000:.1f} ms, {worst / MAX_CHARS * 1e6:.1f} µs/char "
          f"(lcut of the same text {worst_lcut * 1000:.1f} ms, {worst / worst_lcut:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
