"""The vectorised index agrees with the plain loop (the reference) on random data."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from handlers.dispatch.engine import DispatchConfig, Normalisation, TechnicianIndex, Weights, rank, top_m
from handlers.dispatch.config import load_scoring_config as load_config
from handlers.dispatch.engine.synthetic import NOW, random_exclusions, random_jobs, random_technicians

from .helpers import job, km_north, tech


@pytest.fixture(scope="module")
def pool():
    techs = random_technicians(1500, seed=11)
    return techs, TechnicianIndex.build(techs)


@pytest.mark.parametrize("unlocated", [0.0, 0.4], ids=["located", "some-without-coordinates"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_index_and_loop_agree_on_random_jobs(pool, seed, unlocated):
    techs, index = pool
    rng = random.Random(seed)
    config = load_config()
    weights = [config, Weights(), Weights(distance=0, skill=1, load=0, response=0, rating=0, fairness=0),
               DispatchConfig(location_fresh_hours=rng.choice([0.5, 3, 24])),
               DispatchConfig(normalisation=Normalisation(distance_unknown=rng.choice([0.0, 0.35, 1.0])))]
    checked_nonempty = checked_unlocated = 0
    for j in random_jobs(60, seed=100 + seed, unlocated=unlocated):
        now = NOW + timedelta(minutes=rng.randint(0, 7 * 24 * 60))
        w = rng.choice(weights)
        k = rng.randint(1, 8)
        ex = random_exclusions(rng, techs, rng.randint(0, 5))
        a = index.rank(j, w, now, k=k, exclude=ex)
        b = rank(j, techs, w, now, k=k, exclude=ex)
        assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}, j.id
        checked_nonempty += a.chosen is not None
        checked_unlocated += a.chosen is not None and j.location is None
    assert checked_nonempty > 30  # the generator yields real choices, not only empty decisions
    assert (checked_unlocated > 10) if unlocated else (checked_unlocated == 0)


def test_index_update_counters_keeps_old_records_and_changes_new_ones():
    techs = [tech("a", load=0), tech("b", load=0, home=km_north(5))]
    index = TechnicianIndex.build(techs)
    first = index.rank(job(), None, NOW)
    assert first.chosen.tech_id == "a"
    index.update_counters("a", load=5, jobs_today=3)  # a is now full
    second = index.rank(job(), None, NOW)
    assert second.chosen.tech_id == "b"
    assert [r.tech_id for r in second.rejected] == ["a"] and second.rejected[0].filter == "capacity"
    assert first.chosen.facts.load == 0 and first.rejected == ()


@pytest.mark.parametrize("undo_keep", [4096, 2], ids=["logged", "list-started-again"])
def test_replace_in_place_keeps_each_decisions_rejections_as_ranked(monkeypatch, undo_keep):
    """``replace`` changes the technicians in place (no copy of the pool); a decision made
    before still lists its rejections as they were, however many changes came since."""
    from handlers.dispatch.engine import index as index_module

    monkeypatch.setattr(index_module, "UNDO_KEEP", undo_keep)
    techs = [tech("a", load=5), tech("b", load=0, home=km_north(5)), tech("c", load=5)]
    index = TechnicianIndex.build(techs)
    first = index.rank(job(), None, NOW)  # a and c full
    index.replace(tech("a", load=0))
    index.replace(tech("c", load=1, name="新名字"))
    second = index.rank(job(), None, NOW)
    index.replace(tech("a", load=5, name="又改了"))
    index.update_counters("b", load=5)
    index.replace(tech("c", load=5))
    third = index.rank(job(), None, NOW)
    assert [(r.tech_id, r.name, r.detail) for r in first.rejected] == [
        (r.tech_id, r.name, r.detail) for r in TechnicianIndex.build(techs).rank(job(), None, NOW).rejected]
    assert [r.tech_id for r in first.rejected] == ["a", "c"]
    assert second.rejected == () and second.chosen.tech_id == "a"
    assert [(r.tech_id, r.name) for r in third.rejected] == [("a", "又改了"), ("b", "b师傅"), ("c", "c师傅")]
    now = [tech("a", load=5, name="又改了"), dataclasses.replace(techs[1], load=5), tech("c", load=5)]
    assert index.technicians == now and techs[0].load == 5  # the list built from is not changed
    assert third.to_dict() == TechnicianIndex.build(now).rank(job(), None, NOW).to_dict()


def test_index_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="duplicate"):
        TechnicianIndex.build([tech("a"), tech("a")])


def test_unknown_skill_and_empty_pool():
    index = TechnicianIndex.build([tech("a")])
    d = index.rank(job(skill="coffee"), None, NOW)
    assert d.chosen is None and d.rejected_counts["skill"] == 1
    empty = TechnicianIndex.build([]).rank(job(), None, NOW)
    assert empty.chosen is None and empty.pool_size == 0 and empty.rejected == ()


@pytest.mark.parametrize("engine", ["loop", "index"])
def test_grab_mode_offers_top_m(engine):
    techs = [tech(f"T{i}", home=km_north(1 + i)) for i in range(6)] + [tech("off", skills={})]
    source = TechnicianIndex.build(techs) if engine == "index" else techs
    d = top_m(job(), source, None, NOW, m=3, exclude=("T0",))
    assert d.mode == "grab"
    assert [c.tech_id for c in d.candidates] == ["T1", "T2", "T3"]
    assert {r.tech_id: r.filter for r in d.rejected} == {"T0": "excluded", "off": "skill"}
    cutoff = d.candidates[1].total
    d2 = top_m(job(), source, None, NOW, m=3, exclude=("T0",), min_total=cutoff)
    assert [c.tech_id for c in d2.candidates] == ["T1", "T2"]


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        rank(job(), [tech()], None, NOW.replace(tzinfo=None))
