"""Score parts, their normalisation, and that the ranking follows each weight."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handlers.dispatch.engine import DispatchConfig, Normalisation, TechnicianIndex, Weights, eta_minutes, haversine_km, rank
from handlers.dispatch.engine.config import PARTS, CategoryOverride
from handlers.dispatch.engine.scoring import score_parts, total_score

from .helpers import JOB_AT, NOW, hours_ago, job, km_north, tech

ENGINES = ["loop", "index"]


def decide(engine, j, techs, weights=None, now=NOW, **kw):
    if engine == "index":
        return TechnicianIndex.build(techs).rank(j, weights, now, **kw)
    return rank(j, techs, weights, now, **kw)


def only(part: str) -> Weights:
    return Weights(**{p: (1.0 if p == part else 0.0) for p in PARTS})


# (part, overrides making "good" better on that part only)
BETTER_ON = {
    "distance": dict(home=km_north(1.0)),
    "skill": dict(skills={"aircon": 5}),
    "load": dict(load=0),
    "response": dict(response_median_s=90.0),
    "rating": dict(rating=4.9),
    "fairness": dict(jobs_today=0),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("part", PARTS)
def test_ranking_follows_each_weight(engine, part):
    """'good' is better on ``part`` only; 'near' is better on distance only (or on rating when
    the part under test is distance).  Whichever part the weights favour wins."""
    rival_part = "rating" if part == "distance" else "distance"
    good = tech("good", **BETTER_ON[part])
    rival = tech("rival", **BETTER_ON[rival_part])
    assert [c.tech_id for c in decide(engine, job(), [rival, good], only(part)).candidates] == ["good", "rival"]
    assert [c.tech_id for c in decide(engine, job(), [good, rival], only(rival_part)).candidates] == ["rival", "good"]


@pytest.mark.parametrize("engine", ENGINES)
def test_nearer_wins_when_everything_else_is_equal(engine):
    techs = [tech("far", home=km_north(6.0)), tech("near", home=km_north(2.1)), tech("mid", home=km_north(3.0))]
    d = decide(engine, job(), techs)
    assert [c.tech_id for c in d.candidates] == ["near", "mid", "far"]
    assert d.chosen.facts.distance_km == pytest.approx(2.1, abs=0.01)


@pytest.mark.parametrize("engine", ENGINES)
def test_higher_skill_wins_when_configured_to_dominate(engine):
    expert_far = tech("expert", skills={"aircon": 5}, home=km_north(12.0))
    novice_near = tech("novice", skills={"aircon": 3}, home=km_north(1.0))
    default = decide(engine, job(), [expert_far, novice_near])
    assert default.chosen.tech_id == "novice"
    skill_heavy = Weights(distance=0.1, skill=0.8, load=0.1, response=0, rating=0, fairness=0)
    assert decide(engine, job(), [expert_far, novice_near], skill_heavy).chosen.tech_id == "expert"


@pytest.mark.parametrize("engine", ENGINES)
def test_fairness_prefers_who_had_fewer_jobs_today(engine):
    techs = [tech("busy", jobs_today=5), tech("fresh", jobs_today=0), tech("some", jobs_today=2)]
    d = decide(engine, job(), techs)
    assert [c.tech_id for c in d.candidates] == ["fresh", "some", "busy"]
    assert [c.parts["fairness"] for c in d.candidates] == pytest.approx([1.0, 1 - 2 / 6, 1 - 5 / 6])
    # beyond the cap everyone is equally "used up"
    capped = decide(engine, job(), [tech("six", jobs_today=6), tech("nine", jobs_today=9)])
    assert [c.parts["fairness"] for c in capped.candidates] == [0.0, 0.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_stale_last_known_location_is_ignored(engine):
    at_the_door = km_north(0.2)
    stale = tech("stale", home=km_north(10.0), last_known=at_the_door, last_seen_at=hours_ago(7))
    fresh = tech("fresh", home=km_north(10.0), last_known=km_north(3.0), last_seen_at=hours_ago(5.9))
    d = decide(engine, job(), [stale, fresh])  # location_fresh_hours defaults to 6
    by_id = {c.tech_id: c for c in d.candidates}
    assert by_id["stale"].facts.location_source == "home"
    assert by_id["stale"].facts.distance_km == pytest.approx(10.0, abs=0.01)
    assert by_id["fresh"].facts.location_source == "last_known"
    assert by_id["fresh"].facts.distance_km == pytest.approx(3.0, abs=0.01)
    assert d.chosen.tech_id == "fresh"
    # with a longer freshness window the stale fix counts again
    longer = DispatchConfig(location_fresh_hours=8)
    assert decide(engine, job(), [stale, fresh], longer).chosen.tech_id == "stale"


@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_response_and_rating_are_neutral(engine):
    d = decide(engine, job(), [tech("new", response_median_s=None, rating=None)])
    assert d.chosen.parts["response"] == 0.5
    assert d.chosen.parts["rating"] == 0.5


def test_normalisation_of_each_part():
    norm = Normalisation()
    parts = score_parts(np.array([0.0, 5.0, 15.0]), np.array([1.0, 3.0, 5.0]), np.array([0.0, 1.0, 4.0]),
                        np.array([4.0, 4.0, 5.0]), np.array([60.0, 960.0, 4000.0]),
                        np.array([1.0, 3.0, np.nan]), np.array([0.0, 3.0, 10.0]), norm)
    assert parts["distance"].tolist() == [1.0, 0.5, 0.25]
    assert parts["skill"].tolist() == [0.0, 0.5, 1.0]
    assert parts["load"].tolist() == [1.0, 0.75, pytest.approx(0.2)]
    assert parts["response"].tolist() == [1.0, 0.5, 0.0]
    assert parts["rating"].tolist() == [0.0, 0.5, 0.5]
    assert parts["fairness"].tolist() == [1.0, 0.5, 0.0]
    totals = total_score(parts, Weights())
    assert all(0.0 <= t <= 1.0 for t in totals)


def test_total_is_weighted_mean_and_contributions_add_up():
    d = rank(job(), [tech("a", response_median_s=700.0, jobs_today=3)], Weights(), NOW)
    c = d.chosen
    w = Weights().as_dict()
    assert c.total == pytest.approx(sum(w[p] * c.parts[p] for p in PARTS) / sum(w.values()))
    assert sum(c.contributions.values()) == pytest.approx(c.total)


def test_scaling_all_weights_changes_nothing():
    techs = [tech("a", home=km_north(4)), tech("b", skills={"aircon": 5}, home=km_north(7)), tech("c", load=3)]
    w = Weights()
    doubled = Weights(**{p: 2 * v for p, v in w.as_dict().items()})
    a, b = rank(job(), techs, w, NOW), rank(job(), techs, doubled, NOW)
    assert [(c.tech_id, round(c.total, 12)) for c in a.candidates] == [(c.tech_id, round(c.total, 12)) for c in b.candidates]


def test_per_category_override_install_weighs_skill_more():
    config = DispatchConfig(categories={"install": CategoryOverride(weights={"skill": 0.6, "distance": 0.1})})
    expert_far = tech("expert", skills={"aircon": 5}, home=km_north(9.0))
    novice_near = tech("novice", skills={"aircon": 3}, home=km_north(1.5))
    assert rank(job(category="repair"), [expert_far, novice_near], config, NOW).chosen.tech_id == "novice"
    install = rank(job(category="install"), [expert_far, novice_near], config, NOW)
    assert install.chosen.tech_id == "expert"
    assert install.category == "install" and install.weights["skill"] == 0.6
    assert install.weights["load"] == Weights().load  # inherited


def test_shipped_config_install_override_changes_the_choice():
    from handlers.dispatch.config import load_scoring_config as load_config

    config = load_config()
    expert_far = tech("expert", skills={"aircon": 5}, home=km_north(8.0))
    novice_near = tech("novice", skills={"aircon": 3}, home=km_north(2.0))
    assert rank(job(category="repair"), [expert_far, novice_near], config, NOW).chosen.tech_id == "novice"
    assert rank(job(category="install"), [expert_far, novice_near], config, NOW).chosen.tech_id == "expert"


def test_k_limits_candidates_and_ties_are_deterministic():
    techs = [tech(f"T{i}") for i in (3, 1, 2, 5, 4, 6)]  # identical except id
    for engine in ENGINES:
        d = decide(engine, job(), techs, k=4)
        assert [c.tech_id for c in d.candidates] == ["T1", "T2", "T3", "T4"]
        assert [c.rank for c in d.candidates] == [1, 2, 3, 4]
        assert d.eligible_count == 6


def test_haversine_and_eta():
    shanghai, beijing = (31.2304, 121.4737), (39.9042, 116.4074)
    assert haversine_km(*shanghai, *beijing) == pytest.approx(1067, abs=3)
    assert haversine_km(JOB_AT.lat, JOB_AT.lon, JOB_AT.lat, JOB_AT.lon) == 0.0
    assert eta_minutes(0) == 10
    assert eta_minutes(5.0) == 22          # 10 + 12
    assert eta_minutes(2.1) == math.ceil(10 + 2.1 / 25 * 60)
    assert eta_minutes(30, speed_kmh=60, overhead_min=0) == 30
    with pytest.raises(ValueError):
        eta_minutes(-1)
