"""Shift / leave specs as an importer gets them: per-row problems without raising, agreeing with
what the loader accepts; and "on duty now" from shift specs with the existing schedule code."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from handlers.dispatch.engine.specs import leave_specs_problems, shift_specs_problems, shifts_from, technician_from_dict
from handlers.dispatch.engine.shifts import TZ, WeeklySchedule

GOOD_SHIFTS = [
    [{"days": "mon-fri", "start": "09:00", "end": "18:00"}],
    [{"start": "22:00", "end": "06:00"}],                                    # days default: daily
    [{"days": "sat,sun", "start": "00:00", "end": "24:00"}, {"days": "fri-mon", "start": "9:30", "end": "12:00"}],
    [{"days": ["mon", "Tuesday", 6], "start": "20:00", "end": "04:00"}],
    [{"days": "daily", "start": "08:00", "end": "17:00"}],
    [],
    None,
]

BAD_SHIFTS = [  # (spec, expected problems, whether the loader itself would raise)
    ([{"days": "mon-fri", "start": "09:00", "end": "18:00", "note": "x"}],
     ["shift 1: unknown key 'note' (allowed: days, start, end)"], False),
    ([{"days": "mon-fry", "start": "09:00", "end": "18:00"}],
     ["shift 1: days 'mon-fry' are not weekdays (use mon..sun, e.g. 'mon-fri', 'sat,sun', 'daily', "
      "or 0..6 with 0 = Monday)"], True),
    ([{"days": [7], "start": "09:00", "end": "18:00"}], ["shift 1: days [7] are not weekdays"], True),
    ([{"days": True, "start": "09:00", "end": "18:00"}], ["shift 1: days must be text like"], True),
    ([{"days": [], "start": "09:00", "end": "18:00"}], ["shift 1: days [] names no weekday"], False),
    ([{"days": "mon", "start": "25:00", "end": "9:60"}],
     ["shift 1: start '25:00' is not a time HH:MM between 00:00 and 24:00",
      "shift 1: end '9:60' is not a time HH:MM between 00:00 and 24:00"], True),
    ([{"days": "mon", "start": "nine", "end": "18:00"}], ["shift 1: start 'nine' is not a time HH:MM"], True),
    ([{"days": "mon", "start": 540, "end": "18:00"}],
     ['shift 1: start must be a time "HH:MM" as text, got 540 (an unquoted 18:00 in YAML reads as a number: '
      'quote it)'], True),
    ([{"days": "mon", "start": "09:00"}], ["shift 1: missing end (HH:MM)"], True),
    ([{"days": "mon", "start": "24:00", "end": "06:00"}],
     ["shift 1: start 24:00 is not allowed (24:00 can only be an end)"], True),
    ([{"days": "mon", "start": "08:00", "end": "08:00"}],
     ["shift 1: start equals end (08:00); use 00:00-24:00 for a whole day"], True),
    ("mon-fri 09:00-18:00", ["shifts must be a list of {days, start, end} entries, got str"], True),
    ({"days": "mon", "start": "09:00", "end": "18:00"},
     ["shifts must be a list of {days, start, end} entries, got dict"], True),
    ([{"days": "mon", "start": "09:00", "end": "18:00"}, "tue 9-18"],
     ["shift 2: must be a mapping {days, start, end}, got str 'tue 9-18'"], True),
]


@pytest.mark.parametrize("spec", GOOD_SHIFTS)
def test_good_shift_specs_have_no_problems_and_load(spec):
    assert shift_specs_problems(spec) == []
    shifts_from(spec or ())


@pytest.mark.parametrize("spec,expected,loader_raises", BAD_SHIFTS)
def test_bad_shift_specs_are_reported_not_raised(spec, expected, loader_raises):
    found = shift_specs_problems(spec)
    assert len(found) == len(expected), found
    for got, want in zip(found, expected):
        assert got.startswith(want), (got, want)
    if loader_raises:  # the validator catches what would make the import fail
        with pytest.raises((ValueError, TypeError, KeyError)):
            shifts_from(spec)


def test_shift_problems_name_each_row_and_collect_everything():
    found = shift_specs_problems([
        {"days": "mon-fri", "start": "09:00", "end": "18:00"},
        {"dayz": "sat", "start": "9", "end": "18:00"},
        {"days": "sun", "start": "10:00", "end": "10:00"},
    ])
    assert found == [
        "shift 2: unknown key 'dayz' (allowed: days, start, end)",
        "shift 2: start '9' is not a time HH:MM between 00:00 and 24:00",
        "shift 3: start equals end (10:00); use 00:00-24:00 for a whole day",
    ]


def test_leave_specs():
    assert leave_specs_problems([{"from": "2026-11-20", "to": "2026-11-22"}]) == []
    assert leave_specs_problems([{"from": date(2026, 11, 20), "to": date(2026, 11, 20)}]) == []  # YAML dates
    assert leave_specs_problems(None) == [] and leave_specs_problems([]) == []
    assert leave_specs_problems([{"from": "2026-11-22", "to": "2026-11-20"}]) == [
        "leave 1: to 2026-11-20 is before from 2026-11-22"]
    assert leave_specs_problems([{"from": "2026-11-20", "to": "2026-11-21"},
                                 {"from": "2026-02-30", "to": "next week", "reason": "家事"}]) == [
        "leave 2: unknown key 'reason' (allowed: from, to)",
        "leave 2: from '2026-02-30' is not a valid date YYYY-MM-DD",
        "leave 2: to 'next week' is not a valid date YYYY-MM-DD",
    ]
    assert leave_specs_problems([{"from": "2026-11-20"}]) == ["leave 1: missing to (YYYY-MM-DD)"]
    assert leave_specs_problems([{"from": datetime(2026, 11, 20, 9, 0), "to": "2026-11-21"}]) == [
        "leave 1: from must be a date YYYY-MM-DD, got datetime.datetime(2026, 11, 20, 9, 0)"]
    assert leave_specs_problems({"from": "2026-11-20", "to": "2026-11-22"}) == [
        "leave must be a list of {from, to} entries, got dict"]
    assert leave_specs_problems(["2026-11-20"]) == ["leave 1: must be a mapping {from, to}, got str '2026-11-20'"]


@pytest.mark.parametrize("leave,ok", [
    ([{"from": "2026-11-20", "to": "2026-11-22"}], True),
    ([{"from": "2026-11-22", "to": "2026-11-20"}], False),
    ([{"from": "2026-13-01", "to": "2026-12-01"}], False),
    ([{"to": "2026-12-01"}], False),
])
def test_leave_problems_agree_with_the_loader(leave, ok):
    row = {"id": "T1", "skills": {"aircon": 3}, "regions": ["310100"], "home": [31.2, 121.45],
           "capacity": 3, "leave": leave}
    assert (leave_specs_problems(leave) == []) is ok
    if ok:
        technician_from_dict(row)
    else:
        with pytest.raises((ValueError, KeyError)):
            technician_from_dict(row)


def test_on_duty_now_from_shift_specs_with_the_existing_schedule():
    """The call the bot uses: WeeklySchedule.from_windows(shifts_from(spec)).on_shift(when)."""
    spec = [{"days": "mon-fri", "start": "09:00", "end": "18:00"},
            {"days": "sun", "start": "22:00", "end": "06:00"}]           # Sunday night into Monday
    on_duty = WeeklySchedule.from_windows(shifts_from(spec))
    at = lambda *a: datetime(*a, tzinfo=TZ)  # noqa: E731
    assert on_duty.on_shift(at(2026, 11, 18, 10, 0))                      # Wed 10:00
    assert not on_duty.on_shift(at(2026, 11, 18, 18, 0))                  # end exclusive
    assert not on_duty.on_shift(at(2026, 11, 21, 10, 0))                  # Saturday
    assert on_duty.on_shift(at(2026, 11, 23, 3, 0))                       # Mon 03:00, Sunday's night
    assert on_duty.on_shift(datetime.fromisoformat("2026-11-18T02:00:00+00:00"))  # 10:00 in Shanghai
    with pytest.raises(ValueError, match="naive"):
        on_duty.on_shift(datetime(2026, 11, 18, 10, 0))
