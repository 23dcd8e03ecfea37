"""Jobs without coordinates (the customer typed a street address, nothing geocoded it): the
distance part is neutral, the facts carry null distance / ETA, ties go by id, both engines agree,
and the explanation says so in plain Chinese."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from handlers.dispatch.engine import (DispatchConfig, DispatchDecision, GeoPoint, Job, Normalisation, TechnicianIndex,
                         Weights, explain, rank, top_m)
from handlers.dispatch.engine.config import PARTS, CategoryOverride
from handlers.dispatch.engine.explain import UNLOCATED_ZH, describe_part, reason_line
from handlers.dispatch.engine.specs import job_from_dict
from handlers.dispatch.engine.ranking import order_key
from handlers.dispatch.engine.scoring import distance_part
from handlers.dispatch.engine.synthetic import random_jobs

from .helpers import JOB_AT, NOW, hours_ago, job, km_north, tech

ENGINES = ["loop", "index"]


def decide(engine, j, techs, weights=None, now=NOW, **kw):
    if engine == "index":
        return TechnicianIndex.build(techs).rank(j, weights, now, **kw)
    return rank(j, techs, weights, now, **kw)


def unlocated(**over):
    return job(location=None, **over)


# -- the model and the loader -----------------------------------------------------------------


def test_job_location_is_optional_and_keeps_its_position():
    assert Job("J1", "repair", "aircon", 3, "310115").location is None
    positional = Job("J1", "repair", "aircon", 3, "310115", JOB_AT, NOW)
    assert positional.location == JOB_AT and positional.at == NOW
    assert Job("J1", "repair", "aircon", 3, "310115", None, NOW).at == NOW


@pytest.mark.parametrize("row", [{}, {"location": None}])
def test_job_from_dict_accepts_missing_or_null_location(row):
    j = job_from_dict({"id": "J9", "skill": "aircon", "region": "310115", **row})
    assert j.location is None
    assert job_from_dict({"id": "J9", "skill": "aircon", "region": "310115",
                          "location": [31.2, 121.45]}).location == GeoPoint(31.2, 121.45)


# -- scoring ----------------------------------------------------------------------------------


def test_distance_part_of_unknown_distance_is_distance_unknown():
    norm = Normalisation()
    assert norm.distance_unknown == 0.5
    assert float(distance_part(math.nan, norm)) == 0.5
    assert float(distance_part(5.0, norm)) == 0.5 and float(distance_part(0.0, norm)) == 1.0
    assert distance_part(np.array([np.nan, 0.0, 15.0]), Normalisation(distance_unknown=0.2)).tolist() == [0.2, 1.0, 0.25]


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_distance_unknown_is_validated(bad):
    with pytest.raises(ValueError):
        Normalisation(distance_unknown=bad)


@pytest.mark.parametrize("engine", ENGINES)
def test_distance_is_neutral_and_facts_are_null(engine):
    techs = [tech("near", home=km_north(0.5)), tech("far", home=km_north(30.0), last_known=km_north(0.1),
                                                    last_seen_at=hours_ago(9))]
    d = decide(engine, unlocated(), techs)
    assert d.eligible_count == 2
    for c in d.candidates:
        assert c.parts["distance"] == 0.5
        assert c.facts.distance_km is None and c.facts.eta_min is None
        assert c.facts.location_source == "home"  # which of the technician's points would count
    assert d.candidates[0].total == d.candidates[1].total  # distance no longer separates them
    assert d.job["lat"] is None and d.job["lon"] is None
    # the same job with coordinates: distance counts again
    located = decide(engine, job(), techs)
    assert located.chosen.tech_id == "near" and located.chosen.facts.eta_min is not None
    assert located.chosen.parts["distance"] > 0.5 > located.candidates[1].parts["distance"]


@pytest.mark.parametrize("engine", ENGINES)
def test_distance_unknown_comes_from_the_config_and_per_category(engine):
    config = DispatchConfig(normalisation=Normalisation(distance_unknown=0.2),
                            categories={"install": CategoryOverride(normalisation={"distance_unknown": 0.9})})
    repair = decide(engine, unlocated(category="repair"), [tech("a")], config)
    install = decide(engine, unlocated(category="install"), [tech("a")], config)
    assert repair.chosen.parts["distance"] == 0.2 and repair.normalisation["distance_unknown"] == 0.2
    assert install.chosen.parts["distance"] == 0.9
    w = Weights().as_dict()
    assert repair.chosen.total == pytest.approx(sum(w[p] * repair.chosen.parts[p] for p in PARTS) / sum(w.values()))


@pytest.mark.parametrize("engine", ENGINES)
def test_without_distance_ties_go_by_id(engine):
    # identical except id and where they live; listed out of id order on purpose
    techs = [tech(tid, home=km_north(km)) for tid, km in (("T3", 1.0), ("T1", 9.0), ("T4", 0.2), ("T2", 4.0))]
    d = decide(engine, unlocated(), techs, k=3)
    assert [c.tech_id for c in d.candidates] == ["T1", "T2", "T3"]
    assert len({c.total for c in d.candidates}) == 1
    assert [c.tech_id for c in decide(engine, job(), techs, k=3).candidates] == ["T4", "T3", "T2"]
    grab = top_m(unlocated(), TechnicianIndex.build(techs) if engine == "index" else techs, None, NOW, m=2)
    assert [c.tech_id for c in grab.candidates] == ["T1", "T2"]


def test_order_key_treats_unknown_distance_as_a_tie():
    keys = [order_key(0.7, math.nan, t) for t in ("b", "c", "a")]
    assert sorted(keys) == [order_key(0.7, math.nan, t) for t in ("a", "b", "c")]
    assert order_key(0.7, 1.0, "z") < order_key(0.7, 2.0, "a") < order_key(0.6, 0.0, "a")


@pytest.mark.parametrize("engine", ENGINES)
def test_other_parts_still_decide(engine):
    techs = [tech("near_novice", home=km_north(0.3), skills={"aircon": 3}),
             tech("far_expert", home=km_north(20.0), skills={"aircon": 5})]
    assert decide(engine, job(), techs).chosen.tech_id == "near_novice"
    assert decide(engine, unlocated(), techs).chosen.tech_id == "far_expert"


def test_engines_agree_bit_for_bit_on_a_mixed_pool():
    from handlers.dispatch.engine.synthetic import random_technicians

    techs = random_technicians(400, seed=5)
    index = TechnicianIndex.build(techs)
    nonempty = 0
    for j in random_jobs(40, seed=9, unlocated=1.0):
        a, b = index.rank(j, None, NOW, k=8), rank(j, techs, None, NOW, k=8)
        assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}, j.id
        nonempty += a.chosen is not None
    assert nonempty > 10


# -- the record and the explanation -----------------------------------------------------------


@pytest.fixture
def decision():
    techs = [tech("T2", name="王师傅", skills={"aircon": 4}, load=3),
             tech("T1", name="李师傅", skills={"aircon": 4}, last_known=km_north(0.3), last_seen_at=hours_ago(1)),
             tech("T3", name="张师傅", skills={"aircon": 4}, home=km_north(40.0))]
    return TechnicianIndex.build(techs).rank(unlocated(id="WO-7"), None, NOW)


def test_record_json_has_nulls_and_round_trips(decision):
    stored = json.loads(json.dumps(decision.to_dict(), ensure_ascii=False))
    assert stored["job"]["lat"] is None and stored["job"]["lon"] is None
    facts = stored["candidates"][0]["facts"]
    assert facts["distance_km"] is None and facts["eta_min"] is None
    assert stored["normalisation"]["distance_unknown"] == 0.5
    restored = DispatchDecision.from_dict(stored)
    assert restored.candidates == decision.candidates
    assert restored.chosen.facts.distance_km is None
    assert restored.to_dict() == stored
    assert explain(stored) == explain(decision)


def test_explain_says_the_address_is_not_located(decision):
    text = explain(decision)
    best = decision.chosen
    assert describe_part("distance", best, "空调") == "地址未定位，距离不计（按中性分）" == UNLOCATED_ZH
    assert reason_line(best, "空调").startswith(f"{best.name}：地址未定位，距离不计（按中性分）、空调技能4级")
    assert decision.reason == reason_line(best, decision.skill_label)
    assert "预计约" not in text and "分钟到达" not in text
    assert "公里" not in text and "按常驻地" not in text
    assert "工单地址未定位（无坐标），距离一项对所有师傅均按中性分0.5计，不估算到达时间。" in text
    # T1 and T3 are tied (T3 lives 40 km away: irrelevant without coordinates), T2 is busier
    assert [c.tech_id for c in decision.candidates] == ["T1", "T3", "T2"]
    tie = next(line for line in text.splitlines() if "张师傅" in line and "综合" in line)
    assert "各项接近，同分时按工号排序" in tie


def test_explain_with_coordinates_is_unchanged(decision):
    located = rank(job(), [tech("T1", name="李师傅"), tech("T2", name="王师傅")], None, NOW)
    text = explain(located)
    assert "预计约" in text and "距离2.0公里（按常驻地）" in text
    assert "同分时按距离、再按工号排序" in text and "地址未定位" not in text


# -- synthetic data / bench inputs ------------------------------------------------------------


def _fingerprint(jobs: list[Job]) -> str:
    rows = [(j.id, j.category, j.skill, j.min_level, j.region, j.location and (j.location.lat, j.location.lon),
             j.at and j.at.isoformat()) for j in jobs]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def test_synthetic_jobs_without_coordinates_are_opt_in():
    # the bench's default jobs (seed 8) are exactly those of the version before this option
    assert _fingerprint(random_jobs(1000, seed=8)) == "22274af648f9d1df"
    assert all(j.location is not None for j in random_jobs(200, seed=3))
    some = random_jobs(400, seed=3, unlocated=0.3)
    share = sum(j.location is None for j in some) / len(some)
    assert 0.2 < share < 0.4
    assert all(j.location is None for j in random_jobs(20, seed=3, unlocated=1.0))
    with pytest.raises(ValueError):
        random_jobs(1, unlocated=1.5)
