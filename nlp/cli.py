"""Line-oriented CLI helper: one JSON object (the ``Analysis.to_dict()`` contract) per input line.

Wired by the lead as ``python main.py nlp [--now ISO8601]`` reading stdin.
Blank input lines are *not* skipped: they produce an object with intent
"other" so that output line N always answers input line N.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from nlp.analyzer import Analyzer
from nlp.timeexpr import SHANGHAI


def run(lines: Iterable[str], now: datetime | None, out: TextIO, analyzer: Analyzer | None = None) -> None:
    """Analyse each line against ``now`` (default: the current Asia/Shanghai time)."""
    analyzer = analyzer or Analyzer.load()
    for line in lines:
        when = now or datetime.now(SHANGHAI)
        result = analyzer.analyze(line.rstrip("\r\n"), when)
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
