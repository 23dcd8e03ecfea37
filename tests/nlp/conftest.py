from __future__ import annotations

from datetime import datetime

import pytest

from nlp.analyzer import Analyzer
from nlp.timeexpr import SHANGHAI

#: Wednesday 25 November 2026, 10:00 in Shanghai
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer.load()
