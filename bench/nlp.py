"""Throughput benchmark of the NLP layer on one core.

    .venv/bin/python bench/nlp.py [--rounds 20]

Loads the analyzer once, then analyses every evaluation message ``rounds``
times and prints messages/s, next to a baseline measured in the same run
(bare ``tokenizer.lcut`` of the same messages with the same private tokenizer).
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

from nlp.analyzer import Analyzer  # noqa: E402
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
