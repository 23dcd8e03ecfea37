"""The decision record answers "为什么派给他" in Chinese, also after a JSON round trip."""

from __future__ import annotations

import json

import pytest

from handlers.dispatch.engine import DispatchConfig, Leave, TechnicianIndex, explain, rank
from handlers.dispatch.config import load_scoring_config as load_config

from .helpers import NOW, hours_ago, job, km_north, tech


@pytest.fixture
def scene():
    from datetime import date

    li = tech("T1", name="李师傅", skills={"aircon": 4}, home=km_north(9.0), last_known=km_north(2.1),
              last_seen_at=hours_ago(1), load=1, capacity=5, response_median_s=480.0, rating=4.8,
              jobs_today=2)
    wang = tech("T2", name="王师傅", skills={"aircon": 4}, home=km_north(6.3), load=4, capacity=5,
                response_median_s=480.0, rating=4.8, jobs_today=2)
    zhao = tech("T3", name="赵师傅", skills={"aircon": 2})
    qian = tech("T4", name="钱师傅", leave=(Leave(date(2026, 11, 18), date(2026, 11, 18)),))
    return [wang, li, zhao, qian]


def test_explain_names_the_chosen_technician_with_distance_and_facts(scene):
    d = rank(job(id="WO-1", category="repair"), scene, load_config(), NOW)
    text = explain(d)
    assert d.chosen.name == "李师傅"
    assert "派给李师傅" in text
    assert "李师傅：距离2.1公里、空调技能4级、当前负载1/5、近3天接单中位用时8分钟、评分4.8、今日已接2单" in text
    assert d.reason.startswith("李师傅：距离2.1公里")
    assert "维修" in text and "WO-1" in text


def test_explain_says_why_others_ranked_lower_and_who_was_filtered(scene):
    text = explain(rank(job(), scene, load_config(), NOW))
    runner_up = next(line for line in text.splitlines() if "王师傅" in line)
    assert "距离6.3公里" in runner_up and "负载4/5" in runner_up
    assert "赵师傅（空调技能2级，要求≥3级）" in text
    assert "请假中 1人：钱师傅" in text


def test_record_is_json_and_explains_the_same_after_round_trip(scene):
    d = TechnicianIndex.build(scene).rank(job(), load_config(), NOW)
    stored = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert stored["chosen"] == "T1"
    assert stored["candidates"][0]["facts"]["distance_km"] == pytest.approx(2.1, abs=0.01)
    assert set(stored["candidates"][0]["parts"]) == {"distance", "skill", "load", "response", "rating", "fairness"}
    assert {r["tech_id"]: r["filter"] for r in stored["rejected"]} == {"T3": "skill", "T4": "leave"}
    assert stored["rejected_counts"]["skill"] == 1
    assert explain(stored) == explain(d)


def test_explain_mentions_home_base_when_location_is_stale():
    d = rank(job(), [tech("T1", name="孙师傅", home=km_north(4.0), last_known=km_north(0.5),
                          last_seen_at=hours_ago(9))], DispatchConfig(), NOW)
    text = explain(d)
    assert "距离4.0公里（按常驻地）" in text
    assert "最近定位已是9.0小时前，超过6小时" in text


def test_explain_when_nobody_can_take_the_job():
    d = rank(job(), [tech("T1", name="周师傅", regions=("110100",))], None, NOW)
    text = explain(d)
    assert "无人可派" in text and "不服务该区域 1人：周师傅" in text


def test_explain_grab_mode_lists_who_gets_the_offer():
    from handlers.dispatch.engine import top_m

    techs = [tech(f"T{i}", name=f"{n}师傅", home=km_north(1 + i)) for i, n in enumerate("李王张刘")]
    text = explain(top_m(job(), techs, None, NOW, m=3))
    assert "抢单模式，推送给3位师傅（李师傅、王师傅、张师傅）" in text


def test_a_large_pool_is_stored_with_every_count_and_the_first_named_of_each_filter(scene):
    """Among thousands, the record keeps how many each filter removed and names the first
    twenty of each (the answer names them only where a filter removed three or fewer): a few
    kilobytes, not a megabyte a ticket. The index and the reference loop store the same."""
    from handlers.dispatch.engine.record import NAMED_PER_FILTER

    far = [tech(f"F{i:04d}", name=f"远师傅{i}", skills={"aircon": 4}, regions=("440300",))
           for i in range(3000)]
    weak = [tech(f"W{i:03d}", name=f"新师傅{i}", skills={"aircon": 1}) for i in range(30)]
    pool = scene + far + weak
    d = TechnicianIndex.build(pool).rank(job(), load_config(), NOW)
    stored = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert stored["rejected_counts"]["region"] == 3000 and stored["rejected_counts"]["skill"] == 31
    named = [r["tech_id"] for r in stored["rejected"]]
    assert [t for t in named if t.startswith("F")] == [f"F{i:04d}" for i in range(NAMED_PER_FILTER)]
    assert named[:1] == ["T3"] and sum(t.startswith("W") for t in named) == NAMED_PER_FILTER - 1
    assert "T4" in named  # the one on leave
    assert len(json.dumps(stored, ensure_ascii=False).encode()) < 20_000
    assert stored == rank(job(), pool, load_config(), NOW).to_dict() | {"engine": "index"}
    assert len(d.rejected) == 3032  # in memory the decision still has them all
    text = explain(stored)
    assert "不服务该区域 3000人" in text and "请假中 1人：钱师傅" in text
