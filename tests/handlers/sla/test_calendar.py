"""Business time on the mainland calendar (chinese-calendar, 调休 included) and the
``python main.py calendar add`` contract."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from scheduler.calendar import SHANGHAI, BusinessCalendar, UnknownYear, business_add

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_national_day_2026_skips_the_holiday_and_counts_the_make_up_saturday():
    # Friday 2026-09-25 is 中秋 (a holiday): counting starts Monday 28th 09:00. 28, 29, 30
    # give 27 h; Oct 1-7 are off; Thu 8 and Fri 9 give 18 h (45 h); the 调休 Saturday Oct 10
    # is a working day and holds the last 5 h → 14:00.
    assert business_add(sh(2026, 9, 25, 10, 0), 50) == sh(2026, 10, 10, 14, 0)
    # The last working hour before the holiday runs into the first one after it.
    assert business_add(sh(2026, 9, 30, 17, 0), 2) == sh(2026, 10, 8, 10, 0)
    # Sunday Sep 20 is a make-up working day too.
    assert business_add(sh(2026, 9, 19, 12, 0), 1) == sh(2026, 9, 20, 10, 0)


def test_starts_outside_working_time_count_from_the_next_opening_and_ends_stay_in_the_day():
    cal = BusinessCalendar.of("mainland", "09:00-18:00", strict=True)
    assert cal.add(sh(2026, 11, 27, 20, 0), 3600) == sh(2026, 11, 30, 10, 0)  # Fri night → Mon
    assert cal.add(sh(2026, 11, 30, 8, 0), 9 * 3600) == sh(2026, 11, 30, 18, 0)  # exactly a day
    assert cal.between(sh(2026, 11, 27, 17, 0), sh(2026, 11, 30, 10, 0)) == 2 * 3600


def test_always_and_weekday_calendars():
    always = BusinessCalendar.of("always", "00:00-24:00")
    assert always.add(sh(2026, 10, 1, 23, 30), 3600) == sh(2026, 10, 2, 0, 30)
    weekdays = BusinessCalendar.of("weekdays", "09:00-18:00")
    assert weekdays.add(sh(2026, 10, 1, 17, 0), 2 * 3600) == sh(2026, 10, 2, 10, 0)  # no holiday


def test_a_year_the_package_does_not_know_is_an_error_naming_it_or_weekdays_when_live(caplog):
    with pytest.raises(UnknownYear) as err:
        business_add(sh(2026, 12, 31, 17, 0), 2)
    assert err.value.year == 2027 and "2027" in str(err.value)
    live = BusinessCalendar.of("mainland")  # the running bot: Mon-Fri, one warning per year
    assert live.add(sh(2026, 12, 31, 17, 0), 2 * 3600) == sh(2027, 1, 1, 10, 0)
    assert live.add(sh(2027, 1, 4, 9, 0), 3600) == sh(2027, 1, 4, 10, 0)
    assert sum("2027" in r.getMessage() for r in caplog.records) == 1


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "calendar", "add", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_prints_one_iso_line_with_offset():
    out = run_cli("--start", "2026-09-25T10:00:00+08:00", "--hours", "50")
    assert (out.returncode, out.stdout) == (0, "2026-10-10T14:00:00+08:00\n")
    out = run_cli("--start", "2026-09-30T01:00:00Z", "--hours", "1.5", "--workday", "08:00-12:00")
    assert (out.returncode, out.stdout) == (0, "2026-09-30T10:30:00+08:00\n")
    out = run_cli("--start", "2026-10-01T10:00:00+08:00", "--hours", "1", "--calendar", "always",
                  "--workday", "00:00-24:00")
    assert out.stdout == "2026-10-01T11:00:00+08:00\n"


def test_cli_unknown_year_and_bad_arguments_exit_2():
    out = run_cli("--start", "2027-03-01T10:00:00+08:00", "--hours", "1")
    assert out.returncode == 2 and "2027" in out.stderr and out.stdout == ""
    assert run_cli("--start", "tomorrow", "--hours", "1").returncode == 2
    assert run_cli("--start", "2026-10-08T10:00", "--hours", "-3").returncode == 2
    assert run_cli("--start", "2026-10-08T10:00", "--hours", "1",
                   "--workday", "18:00-09:00").returncode == 2
