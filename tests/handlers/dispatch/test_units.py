"""The pure parts of dispatch: offering config, card keys and cards, which skill a job needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cards import ButtonKey, CardError
from handlers.dispatch.views import (DISPATCH_ACTIONS, DISPATCH_ARG_ACTIONS, dispatch_key,
                                     offer_card, pick_card, work_card)
from handlers.dispatch import texts
from handlers.dispatch.pool import job_for
from handlers.dispatch.config import (OfferingConfigError, load_dispatch_configs,
                                      load_offering_config)
from models.tickets import Site, Ticket

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_the_shipped_offering_config_loads_and_resolves_per_category():
    cfg = load_offering_config()
    assert cfg.hotline == "400-800-1234"
    repair, install = cfg.policy("repair"), cfg.policy("install")
    assert (repair.mode, repair.answer_minutes, repair.max_candidates) == ("direct", 10, 3)
    assert (install.mode, install.grab_size, install.grab_minutes) == ("grab", 5, 15)
    assert cfg.dispatched("repair") and not cfg.dispatched("consult")
    assert (cfg.need("repair", "咖啡机").skill, cfg.need("repair", "咖啡机").min_level) == (
        "coffee", 2)
    assert cfg.need("install", "投影仪").skill == "general"  # unknown device: the category's
    assert cfg.need("repair", None).skill == "general"  # nothing known: the default


def test_offering_errors_name_file_line_and_field(tmp_path):
    p = tmp_path / "offering.yaml"
    p.write_text("defaults: {mode: direct, answer_minutes: 10, max_candidates: 3,\n"
                 "  grab_size: 5, grab_minutes: 15, min_score: 0}\n"
                 "categories:\n  repair: {mode: lottery}\n  install: {answer_minutes: 0}\n",
                 encoding="utf-8")
    with pytest.raises(OfferingConfigError) as info:
        load_offering_config(p)
    msg = str(info.value)
    assert f"{p}:4: categories.repair.mode:" in msg
    assert f"{p}:5: categories.install.answer_minutes:" in msg
    p.write_text("defaults: {mode: direct}\n", encoding="utf-8")
    with pytest.raises(OfferingConfigError, match="defaults must set answer_minutes"):
        load_offering_config(p)
    p.write_text("categories: {repairs: {}}\n", encoding="utf-8")
    with pytest.raises(OfferingConfigError, match=r"unknown categories \['repairs'\]"):
        load_offering_config(p)
    with pytest.raises(OfferingConfigError, match="missing.yaml: cannot read"):
        load_dispatch_configs(str(tmp_path / "missing.yaml"))


def test_button_keys_are_typed_and_checked():
    assert dispatch_key("accept", 42) == "dispatch:accept:42"
    assert dispatch_key("assign", 7, 3) == "dispatch:assign:7:3"
    assert ButtonKey.parse("dispatch", "assign:7:3", DISPATCH_ACTIONS) == ButtonKey(
        "dispatch", "assign", 7, 3)
    for bad in ("steal:1", "accept:x", "accept", "accept:1:2:3", "accept:-1"):
        assert ButtonKey.parse("dispatch", bad, DISPATCH_ACTIONS) is None
    with pytest.raises(CardError):
        dispatch_key("steal", 1)


@pytest.mark.parametrize("bad", [
    "accept:" + "9" * 40,  # was OverflowError (SQLite) / bigint out of range (PostgreSQL)
    f"accept:{2 ** 53}", "accept:0", "accept:007", "accept:²", "accept:١٢", "accept: 1",
    "accept:1\n", "transfer_to:1:" + "1" * 17, "accept:1:" + "x" * 200, "accept:" + "1" * 200,
])
def test_button_key_ids_are_bounded_ascii_integers(bad):
    """A key is input: whatever does not parse into ids below 2**53 is an unknown card."""
    assert ButtonKey.parse("dispatch", bad, DISPATCH_ACTIONS) is None


def test_button_keys_carry_a_staff_id_exactly_where_the_action_takes_one():
    parse = lambda rest: ButtonKey.parse("dispatch", rest, DISPATCH_ACTIONS,  # noqa: E731
                                         DISPATCH_ARG_ACTIONS)
    assert parse("transfer_to:5:7") == ButtonKey("dispatch", "transfer_to", 5, 7)
    assert parse(f"assign:{2 ** 53 - 1}:1").ref == 2 ** 53 - 1
    assert parse("accept:5") == ButtonKey("dispatch", "accept", 5)
    for bad in ("transfer_to:5", "assign:12", "accept:5:7", "done:5:1"):
        assert parse(bad) is None
    # Every key the bot itself builds parses back to what it was built from.
    for action in DISPATCH_ACTIONS:
        arg = 3 if action in DISPATCH_ARG_ACTIONS else None
        key = dispatch_key(action, 42, arg).removeprefix("dispatch:")
        assert parse(key) == ButtonKey("dispatch", action, 42, arg)


def test_offer_work_and_pick_cards_respect_wecom_limits():
    direct = offer_card(offer_id=5, grab=False, title="新派单", desc="d", rows=[("地点", "x")],
                        labels=texts.OFFER_LABELS)
    assert direct["task_id"] == "offer-5"
    assert [b["key"] for b in direct["button_list"]] == [
        "dispatch:accept:5", "dispatch:decline:5", "dispatch:transfer:5"]
    grab = offer_card(offer_id=6, grab=True, title="抢单", desc="d", rows=[],
                      labels=texts.OFFER_LABELS)
    assert [b["text"] for b in grab["button_list"]] == ["抢单"]
    stages = {s: [b["text"] for b in work_card(offer_id=5, stage=s, title="t", desc="d", rows=[],
                                               labels=texts.WORK_LABELS)["button_list"]]
              for s in ("accepted", "departed", "arrived")}
    assert stages == {"accepted": ["出发", "到达", "完工"], "departed": ["到达", "完工"],
                      "arrived": ["完工"]}
    many = pick_card(task_id="assign-1", action="assign", ref=1, title="t", desc="d", rows=[],
                     choices=[(f"派给{i}", i) for i in range(9)])
    assert len(many["button_list"]) == 6  # WeCom's limit


def _ticket(**kw) -> Ticket:
    base = dict(id=1, number="GD20261125-0001", customer_id=1, category="repair",
                created_at=NOW, updated_at=NOW, device="咖啡机")
    return Ticket(**(base | kw))


def test_where_and_what_a_job_needs():
    cfg = load_offering_config()
    site = Site(name="人民广场店", region_code="310101", lat=31.23, lon=121.47, created_at=NOW)
    job = job_for(_ticket(site_id=1), site, cfg, NOW)
    assert (job.region, job.skill, job.min_level, job.location.lat) == ("310101", "coffee", 2,
                                                                         31.23)
    # The district named in the ticket wins over the store's; a sent location over the store's.
    job = job_for(_ticket(district_code="330106", lat=30.27, lon=120.13), site, cfg, NOW)
    assert (job.region, job.location.lat) == ("330106", 30.27)
    # A city alone is a 6-digit city code; no coordinates is a job without a location.
    job = job_for(_ticket(province_code="33", city_code="3301"), None, cfg, NOW)
    assert (job.region, job.location) == ("330100", None)
    assert job_for(_ticket(), None, cfg, NOW) is None  # nothing places it
    # A future appointment is when shifts are checked; a past one means now.
    later = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert job_for(_ticket(city_code="3101", appointment_start=later), None, cfg, NOW).at == later
    assert job_for(_ticket(city_code="3101", appointment_start=NOW), None, cfg, NOW).at is None


def test_the_work_summary_shows_every_part_and_the_technician_sees_which_lack_a_price():
    from models.dispatch import WorkReport
    from handlers.dispatch.views import work_summary
    from handlers.dispatch.work import details_data, part_rows
    from nlp.staff_commands import parse_staff_command

    cmd = parse_staff_command("完工 工时1.5小时 配件 密封圈2个每个5元 水泵1个 180元的电机1台 滤网")
    rows = part_rows(cmd.parts)
    assert rows == [{"name": "密封圈", "qty": "2", "unit_cost": "5"},
                    {"name": "水泵", "qty": "1", "unit_cost": None},
                    {"name": "电机", "qty": "1", "unit_cost": "180"},
                    {"name": "滤网", "qty": "1", "unit_cost": None}]
    report = WorkReport(ticket_id=1, technician="t", labour_minutes=90, parts=rows, reported_at=NOW)
    assert work_summary(report) == "工时1.5小时，配件：密封圈×2、水泵×1、电机×1、滤网×1"
    assert work_summary(report, prices=True) == (
        "工时1.5小时，配件：密封圈×2（单价5元）、水泵×1（未报单价）、电机×1（单价180元）、滤网×1（未报单价）")
    # what is kept while the bot asks for the rest; a nameless price is no part
    assert details_data(parse_staff_command("180元")) == {
        "labour_minutes": None, "parts": [], "no_parts": False}


def test_the_hints_say_that_each_part_needs_a_price():
    for text in (texts.ASK_WORK_DETAILS, texts.YOU_ACCEPTED, texts.ASK_PARTS):
        assert "单价" in text and "数量" in text
    assert "水泵1个180元" in texts.ASK_WORK_DETAILS and "无配件" in texts.ASK_WORK_DETAILS
