from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nlp.analyzer import Analyzer
from nlp.timeexpr import SHANGHAI, extract_time
from tests.nlp.conftest import NOW  # Wednesday 2026-11-25 10:00 +08:00


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("明天下午三点", "2026-11-26T15:00:00+08:00"),
        ("周五上午", "2026-11-27T09:00:00+08:00"),
        ("下周一", "2026-11-30T09:00:00+08:00"),
        ("下周五下午", "2026-12-04T14:00:00+08:00"),
        ("今晚8点以后", "2026-11-25T20:00:00+08:00"),
        ("12月3号", "2026-12-03T09:00:00+08:00"),
        ("后天", "2026-11-27T09:00:00+08:00"),
        ("今天", "2026-11-25T11:00:00+08:00"),  # date only, today: next full hour
        ("下午两点半", "2026-11-25T14:30:00+08:00"),
        ("三点来", "2026-11-25T15:00:00+08:00"),  # bare 1-6 o'clock is afternoon
        ("明早", "2026-11-26T08:00:00+08:00"),
        ("大后天晚上", "2026-11-28T19:00:00+08:00"),
        ("星期天下午4点", "2026-11-29T16:00:00+08:00"),
        ("周三", "2026-12-02T09:00:00+08:00"),  # today's weekday -> next week
        ("两点一刻", "2026-11-25T14:15:00+08:00"),
        ("晚上12点", "2026-11-26T00:00:00+08:00"),
        ("2026年12月24日上午10:30", "2026-12-24T10:30:00+08:00"),
        ("12月3号下午3点", "2026-12-03T15:00:00+08:00"),
        ("明天 的 下午", "2026-11-26T14:00:00+08:00"),
        ("3天后", "2026-11-28T09:00:00+08:00"),
        ("20号", "2026-12-20T09:00:00+08:00"),  # day of month already past -> next month
        ("昨天报修的，明天来", "2026-11-26T09:00:00+08:00"),  # 昨天 is not an appointment
    ],
)
def test_time_expressions(analyzer: Analyzer, text: str, iso: str) -> None:
    assert analyzer.analyze(text, NOW).to_dict()["entities"]["appointment"] == iso


def test_past_month_day_rolls_to_next_year() -> None:
    now = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    found, _ = extract_time("12月3号", now, [])
    assert found is not None and found.value.isoformat() == "2027-12-03T09:00:00+08:00"


def test_time_passed_today_rolls_to_tomorrow() -> None:
    now = datetime(2026, 11, 25, 16, 0, tzinfo=SHANGHAI)
    found, _ = extract_time("下午两点半", now, [])
    assert found is not None and found.value.isoformat() == "2026-11-26T14:30:00+08:00"


def test_now_in_another_zone_is_converted() -> None:
    now_utc = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # = 10:00 in Shanghai
    found, _ = extract_time("明天下午三点", now_utc, [])
    assert found is not None and found.value.isoformat() == "2026-11-26T15:00:00+08:00"


@pytest.mark.parametrize("text", ["快一点", "早一点来", "晚一点也行", "有两点问题", "张江路88号3楼", "备注:", "昨天"])
def test_not_times(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(text, NOW).entities.appointment is None


def test_part_of_day_already_started_means_next_full_hour() -> None:
    now = datetime(2026, 11, 25, 15, 20, tzinfo=SHANGHAI)
    found, _ = extract_time("下午过来", now, [])
    assert found is not None and found.value.isoformat() == "2026-11-25T16:00:00+08:00"
