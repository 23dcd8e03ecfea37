"""Offers awaiting a technician's answer count with the jobs they hold (``Technician.offered``):
against their capacity and in the load score, in both engines, and in what a manager reads."""

from __future__ import annotations

import copy
import random

import pytest

from handlers.dispatch.engine import DispatchDecision, TechnicianIndex, explain, rank, top_m
from handlers.dispatch.engine.explain import reason_line
from handlers.dispatch.engine.synthetic import NOW as SYN_NOW, random_jobs, random_technicians

from .helpers import NOW, job, km_north, tech

ENGINES = ["loop", "index"]


def decide(engine, j, techs, **kw):
    if engine == "index":
        return TechnicianIndex.build(techs).rank(j, None, NOW, **kw)
    return rank(j, techs, None, NOW, **kw)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_technician_whose_offers_fill_their_capacity_gets_no_more(engine):
    near = tech("near", load=1, capacity=3, home=km_north(0.5))
    far = tech("far", load=0, capacity=3, home=km_north(8))
    assert decide(engine, job(), [near, far]).chosen.tech_id == "near"
    d = decide(engine, job(), [near, far], offered={"near": 2})
    assert d.chosen.tech_id == "far"
    [r] = d.rejected
    assert (r.tech_id, r.filter) == ("near", "capacity")
    assert r.detail == "在手1单，另有2单待接，上限3单"  # not "当前负载1/3": that reads as room left
    # One fewer offer awaiting: room again.
    assert decide(engine, job(), [near, far], offered={"near": 1}).chosen.tech_id == "near"


@pytest.mark.parametrize("engine", ENGINES)
def test_offers_awaiting_an_answer_lower_the_load_part_and_are_explained(engine):
    a = tech("a", load=0, capacity=5)
    [c] = decide(engine, job(), [a], offered={"a": 2}).candidates
    assert c.parts["load"] == pytest.approx(1 - 2 / 5)
    assert (c.facts.load, c.facts.offered) == (0, 2)
    assert "、当前负载0/5（另有2单待接）、" in reason_line(c, "空调")
    [c] = decide(engine, job(), [a]).candidates
    assert c.parts["load"] == 1.0 and "当前负载0/5、" in reason_line(c, "空调")


@pytest.mark.parametrize("engine", ENGINES)
def test_equal_technicians_take_turns_as_offers_await(engine):
    """Two technicians alike but for their ids: each offer waiting tips the next job over."""
    techs = [tech("a", load=0), tech("b", load=0)]
    waiting: dict[str, int] = {}
    order = []
    for _ in range(4):
        who = decide(engine, job(), techs, offered=waiting).chosen.tech_id
        order.append(who)
        waiting[who] = waiting.get(who, 0) + 1
    assert order == ["a", "b", "a", "b"]


def test_the_index_itself_is_not_changed_by_a_ranking_with_offers():
    techs = [tech("a", load=0, capacity=1), tech("b", load=0, home=km_north(6))]
    index = TechnicianIndex.build(techs)
    busy = index.rank(job(), None, NOW, offered={"a": 1})
    assert busy.chosen.tech_id == "b"
    assert index.rank(job(), None, NOW).chosen.tech_id == "a"
    # The first decision's rejection still reads as it was decided.
    assert busy.rejected[0].detail == "在手0单，另有1单待接，上限1单"


def test_a_decision_keeps_the_offers_it_was_made_with():
    """The caller's mapping changing afterwards does not change a decision's rejections
    (they are listed lazily, when the record is written)."""
    techs = [tech("a", load=0, capacity=1), tech("b", load=0, home=km_north(6))]
    waiting = {"a": 1}
    decision = TechnicianIndex.build(techs).rank(job(), None, NOW, offered=waiting)
    waiting["a"] = 0
    assert decision.rejected[0].detail == "在手0单，另有1单待接，上限1单"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_negative_count_is_refused(engine):
    with pytest.raises(ValueError):
        decide(engine, job(), [tech("a")], offered={"a": -1})


@pytest.mark.parametrize("engine", ENGINES)
def test_when_offers_fill_everyone_they_still_weigh_but_do_not_filter(engine):
    """``offers_fill=False`` (the bot's second look when offers alone leave nobody): those full
    only of offers are ranked again, their load part at its floor of 0 (the other parts decide:
    here distance); one whose jobs fill their capacity stays out."""
    techs = [tech("near", load=0, capacity=2, home=km_north(0.5)),
             tech("far", load=0, capacity=2, home=km_north(3)),
             tech("busy", load=2, capacity=2, home=km_north(0.1))]
    waiting = {"near": 4, "far": 2}
    assert decide(engine, job(), techs, offered=waiting).chosen is None
    d = decide(engine, job(), techs, offered=waiting, offers_fill=False)
    assert [c.tech_id for c in d.candidates] == ["near", "far"]
    assert {c.tech_id: c.parts["load"] for c in d.candidates} == {"far": 0.0, "near": 0.0}
    assert [(r.tech_id, r.filter) for r in d.rejected] == [("busy", "capacity")]


@pytest.mark.parametrize("seed", [4, 5])
def test_index_and_loop_agree_with_offers_awaiting(seed):
    rng = random.Random(seed)
    techs = random_technicians(800, seed=seed)
    index = TechnicianIndex.build(techs)
    chosen = 0
    for j in random_jobs(40, seed=200 + seed):
        waiting = {t.id: rng.randint(0, 4) for t in rng.sample(techs, 300)}
        waiting["nobody-in-the-pool"] = 3
        fill = rng.random() < 0.5
        a = index.rank(j, None, SYN_NOW, k=6, offered=waiting, offers_fill=fill)
        b = rank(j, techs, None, SYN_NOW, k=6, offered=waiting, offers_fill=fill)
        assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}, j.id
        ga = top_m(j, index, None, SYN_NOW, m=3, offered=waiting)
        gb = top_m(j, techs, None, SYN_NOW, m=3, offered=waiting)
        assert ga.to_dict() | {"engine": None} == gb.to_dict() | {"engine": None}, j.id
        chosen += a.chosen is not None
    assert chosen > 15


def test_records_written_before_and_by_a_later_version_are_read():
    """A stored record without ``offered`` (before it) or with a fact this code does not know
    (a newer replica's) still explains."""
    record = decide("index", job(), [tech("a")]).to_dict()
    older, newer = copy.deepcopy(record), copy.deepcopy(record)
    del older["candidates"][0]["facts"]["offered"]
    newer["candidates"][0]["facts"]["something_new"] = 1
    for r in (older, newer):
        assert DispatchDecision.from_dict(r).candidates[0].facts.offered == 0
        assert "派给a师傅" in explain(r)
