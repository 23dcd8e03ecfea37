"""Each hard filter removes the technician, in both engines, with the filter named."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from handlers.dispatch.engine import Leave, ShiftWindow, TechnicianIndex, rank
from handlers.dispatch.engine.shifts import TZ

from .helpers import NOW, job, tech

ENGINES = ["loop", "index"]


def decide(engine: str, j, techs, now=NOW, **kw):
    if engine == "index":
        return TechnicianIndex.build(techs).rank(j, None, now, **kw)
    return rank(j, techs, None, now, **kw)


def offered(decision) -> list[str]:
    return [c.tech_id for c in decision.candidates]


def reasons(decision) -> dict[str, str]:
    return {r.tech_id: r.filter for r in decision.rejected}


@pytest.mark.parametrize("engine", ENGINES)
def test_technician_without_the_skill_is_never_offered(engine):
    techs = [tech("ok"), tech("plumber", skills={"plumbing": 5})]
    d = decide(engine, job(), techs)
    assert offered(d) == ["ok"]
    assert reasons(d) == {"plumber": "skill"}
    assert d.rejected[0].detail == "无aircon技能，要求≥3级"


@pytest.mark.parametrize("engine", ENGINES)
def test_skill_level_below_required_is_removed_equal_passes(engine):
    techs = [tech("lvl2", skills={"aircon": 2}), tech("lvl3", skills={"aircon": 3})]
    d = decide(engine, job(min_level=3), techs)
    assert offered(d) == ["lvl3"]
    assert reasons(d) == {"lvl2": "skill"}
    assert "2级，要求≥3级" in d.rejected[0].detail


@pytest.mark.parametrize("engine", ENGINES)
def test_region_coverage(engine):
    techs = [
        tech("district", regions=("310115",)),
        tech("city", regions=("310100",)),
        tech("province", regions=("310000",)),
        tech("other_district", regions=("310104",)),
        tech("beijing", regions=("110100",)),
    ]
    d = decide(engine, job(region="310115"), techs)
    assert sorted(offered(d)) == ["city", "district", "province"]
    assert reasons(d) == {"other_district": "region", "beijing": "region"}
    # a district-only technician does not serve a job filed at city level
    d = decide(engine, job(region="310100"), techs)
    assert sorted(offered(d)) == ["city", "province"]


@pytest.mark.parametrize("engine", ENGINES)
def test_off_shift_is_removed(engine):
    weekdays_9_to_6 = tuple(ShiftWindow(d, 9 * 60, 18 * 60) for d in range(5))
    techs = [tech("day", shifts=weekdays_9_to_6)]
    assert offered(decide(engine, job(), techs, now=NOW)) == ["day"]                 # Wed 10:00
    evening = datetime(2026, 11, 18, 18, 0, tzinfo=TZ)                               # end exclusive
    assert reasons(decide(engine, job(), techs, now=evening)) == {"day": "shift"}
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)
    assert reasons(decide(engine, job(), techs, now=saturday)) == {"day": "shift"}


@pytest.mark.parametrize("engine", ENGINES)
def test_night_shift_across_midnight(engine):
    tuesday_night = (ShiftWindow(1, 22 * 60, 6 * 60),)  # Tue 22:00 - Wed 06:00
    techs = [tech("night", shifts=tuesday_night)]
    wed_0230 = datetime(2026, 11, 18, 2, 30, tzinfo=TZ)
    assert offered(decide(engine, job(), techs, now=wed_0230)) == ["night"]
    tue_2300 = datetime(2026, 11, 17, 23, 0, tzinfo=TZ)
    assert offered(decide(engine, job(), techs, now=tue_2300)) == ["night"]
    for t in (datetime(2026, 11, 18, 6, 0, tzinfo=TZ), datetime(2026, 11, 17, 21, 59, tzinfo=TZ),
              datetime(2026, 11, 18, 23, 0, tzinfo=TZ)):  # Wednesday night is not his shift
        assert reasons(decide(engine, job(), techs, now=t)) == {"night": "shift"}, t


@pytest.mark.parametrize("engine", ENGINES)
def test_sunday_night_shift_wraps_into_monday(engine):
    techs = [tech("sun", shifts=(ShiftWindow(6, 20 * 60, 4 * 60),))]
    monday_0300 = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)
    assert offered(decide(engine, job(), techs, now=monday_0300)) == ["sun"]
    monday_0400 = datetime(2026, 11, 23, 4, 0, tzinfo=TZ)
    assert reasons(decide(engine, job(), techs, now=monday_0400)) == {"sun": "shift"}


@pytest.mark.parametrize("engine", ENGINES)
def test_shift_is_checked_in_shanghai_time_at_the_jobs_scheduled_time(engine):
    techs = [tech("day", shifts=tuple(ShiftWindow(d, 9 * 60, 18 * 60) for d in range(5)))]
    # 01:30 UTC is 09:30 in Shanghai
    utc_now = datetime(2026, 11, 18, 1, 30, tzinfo=timezone.utc)
    assert offered(decide(engine, job(), techs, now=utc_now)) == ["day"]
    # it is office hours now, but the job is booked for Saturday
    sat = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)
    assert reasons(decide(engine, job(at=sat), techs, now=NOW)) == {"day": "shift"}


@pytest.mark.parametrize("engine", ENGINES)
def test_on_leave_is_removed_inclusive_dates(engine):
    techs = [tech("away", leave=(Leave(date(2026, 11, 16), date(2026, 11, 18)),)), tech("here")]
    d = decide(engine, job(), techs)
    assert offered(d) == ["here"]
    assert reasons(d) == {"away": "leave"}
    assert "2026-11-16至2026-11-18" in d.rejected[0].detail
    thursday = datetime(2026, 11, 19, 0, 0, tzinfo=TZ)
    assert sorted(offered(decide(engine, job(), techs, now=thursday))) == ["away", "here"]
    # 2026-11-18 16:30 UTC is already Thursday 00:30 in Shanghai
    late_utc = datetime(2026, 11, 18, 16, 30, tzinfo=timezone.utc)
    assert sorted(offered(decide(engine, job(), techs, now=late_utc))) == ["away", "here"]


@pytest.mark.parametrize("engine", ENGINES)
def test_at_capacity_is_removed(engine):
    techs = [tech("full", load=5, capacity=5), tech("one_left", load=4, capacity=5),
             tech("no_capacity", load=0, capacity=0)]
    d = decide(engine, job(), techs)
    assert offered(d) == ["one_left"]
    assert reasons(d) == {"full": "capacity", "no_capacity": "capacity"}


@pytest.mark.parametrize("engine", ENGINES)
def test_explicit_exclusion_list(engine):
    techs = [tech("declined"), tech("other")]
    d = decide(engine, job(), techs, exclude=("declined", "unknown-id"))
    assert offered(d) == ["other"]
    assert reasons(d) == {"declined": "excluded"}


@pytest.mark.parametrize("engine", ENGINES)
def test_first_failing_filter_is_reported_and_counted(engine):
    techs = [
        tech("a", skills={}, regions=("110100",), load=5),   # skill comes before region/capacity
        tech("b", regions=("110100",), load=5),             # region before capacity
        tech("c", load=5, shifts=()),                       # capacity before shift
        tech("d", shifts=()),                               # never on shift
    ]
    d = decide(engine, job(), techs, exclude=("a",))
    assert reasons(d) == {"a": "excluded", "b": "region", "c": "capacity", "d": "shift"}
    assert d.rejected_counts == {"excluded": 1, "skill": 0, "region": 1, "capacity": 1, "leave": 0,
                                 "shift": 1}
    assert d.candidates == () and d.chosen is None and d.eligible_count == 0
