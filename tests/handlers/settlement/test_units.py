"""The pure parts of settlement in chat: a database ticket as the engine's ticket JSON, the
statement as text, and config/settlement.yaml with its price books checked together."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from handlers.settlement import texts
from handlers.settlement.config import (ROOT, SettlementConfigError, load_settlement,
                                        load_settlement_config)
from handlers.settlement.mapping import (ReportData, Unpriceable, address_key, frozen_for,
                                        ticket_input)
from handlers.settlement.views import line_text, money, percent
from models.tickets import Site, Ticket
from handlers.settlement.engine.books import BookError
from handlers.settlement.engine.quote import quote_ticket
from handlers.settlement.engine.ticket import Ticket as EngineTicket

CFG = load_settlement_config()
RESOLVED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def ticket(**kw) -> Ticket:
    values = dict(id=7, number="GD20261125-0007", category="repair", device="咖啡机",
                  customer_id=1, address="上海市浦东新区 世纪大道100号", district_code="310115",
                  city_code="3101", province_code="31", assignee="lishifu", status="resolved",
                  resolved_at=RESOLVED, created_at=RESOLVED, updated_at=RESOLVED)
    values.update(kw)
    return Ticket(**values)


def report(minutes=90, parts=(), km=None) -> ReportData:
    return ReportData(minutes, list(parts), km)


def test_a_resolved_ticket_becomes_the_engines_ticket_json():
    arrived = datetime(2026, 11, 25, 1, 10, tzinfo=UTC)
    data = ticket_input(
        ticket(lat=31.23, lon=121.52, arrived_at=arrived, satisfaction=4), cfg=CFG, site=None,
        report=report(90, [{"name": "压缩机电容", "qty": "1", "unit_cost": "35.00"},
                           {"name": "压缩机电容", "qty": "2", "unit_cost": "30"}], 6.2),
        provider="P001", tags=["老客户", "老客户"])
    assert data == {
        "id": "GD20261125-0007", "service": "咖啡机维修", "region": "310115",
        "completed_at": "2026-11-25T02:00:00+00:00", "started_at": "2026-11-25T01:10:00+00:00",
        "quantities": {"hours": "1.5", "km": "6.2"},
        "parts": [{"sku": "压缩机电容", "name": "压缩机电容", "cost": "35.00", "qty": "1"},
                  {"sku": "压缩机电容#2", "name": "压缩机电容", "cost": "30", "qty": "2"}],
        "provider": "P001", "technician": "lishifu", "address": "上海市浦东新区 世纪大道100号",
        "customer_tags": ["老客户"], "location": [121.52, 31.23], "satisfaction": 4}
    t = EngineTicket.from_dict(data)  # the engine accepts it as is
    assert t.location == (121.52, 31.23) and t.quantities["hours"] == Decimal("1.5")


def test_hours_units_parts_counted_as_quantities_and_the_place():
    data = ticket_input(ticket(device="油烟机"), cfg=CFG, site=None, report=report(100, [
                            {"name": "油烟机滤网", "qty": "4", "unit_cost": "3"},
                            {"name": "滤网", "qty": "2", "unit_cost": "3"},
                            {"name": "螺丝", "qty": "3", "unit_cost": "0.50"}]), provider="")
    assert data["service"] == "油烟机清洗"
    assert data["quantities"] == {"hours": "1.6667", "units": "1", "filters": "6"}
    assert [p["name"] for p in data["parts"]] == ["螺丝"]
    # Nothing places it: the country (the books' CN rules); a site's code places it.
    bare = ticket(district_code=None, city_code=None, province_code=None, address=None,
                  store="人民广场店")
    assert ticket_input(bare, cfg=CFG, site=None, report=report(), provider="")["region"] == "CN"
    site = Site(name="人民广场店", region_code="310101", lat=31.23, lon=121.47,
                created_at=RESOLVED)
    placed = ticket_input(bare, cfg=CFG, site=site, report=report(), provider="")
    assert (placed["region"], placed["location"], placed["address"]) == (
        "310101", [121.47, 31.23], "人民广场店")


@pytest.mark.parametrize("kw, rep, code", [
    ({"device": "磨豆机"}, report(), "no_service"),
    ({"category": "install"}, report(), "no_service"),  # 咖啡机 install: no service
    ({}, None, "no_report"),
    ({}, report(parts=[{"name": "x", "qty": "1", "unit_cost": "abc"}]), "bad_report"),
    ({}, report(parts=[{"name": "x", "qty": "-1", "unit_cost": "1"}]), "bad_report"),
    ({}, report(minutes=-5), "bad_report"),
    ({}, report(parts=[{"name": "电容", "qty": "1", "unit_cost": None}]), "no_cost"),
])
def test_what_cannot_be_priced_says_why(kw, rep, code):
    with pytest.raises(Unpriceable) as err:
        ticket_input(ticket(**kw), cfg=CFG, site=None, report=rep, provider="")
    assert err.value.code == code


def test_money_and_lines_read_like_a_receipt():
    assert money(Decimal("1234.5")) == "¥1,234.50"
    assert money("-30") == "-¥30.00"
    assert money("7", "USD") == "USD 7.00"
    assert percent("0.2520") == "25.20%"
    assert line_text(3, {"rule_id": "ac-install-cn/loyal", "name": "老客户9折", "quantity": "300.00",
                         "unit": "base", "rate": "-10", "amount": "-30.00", "share": "-0.1111",
                         "promotional": True, "note": ""}, "CNY") == \
        "3. 老客户9折 -10% × ¥300.00：-¥30.00（占-11.11%）"
    frozen = {"rule_id": "r/loyal", "name": "老客户9折", "quantity": "300", "unit": "base",
              "rate": "-10", "amount": "0.00", "share": "0.0000", "promotional": True,
              "note": "promotion frozen, not applied (-30.00 skipped): x"}
    assert line_text(1, frozen, "CNY") == "1. 老客户9折：优惠已暂停，本单未使用"
    pack = {"rule_id": "hood-clean-cn/filters", "name": "滤网", "quantity": "1",
            "unit": "pack(5 片)", "rate": "30.00", "amount": "30.00", "share": "0.1667"}
    assert line_text(2, pack, "CNY") == "2. 滤网 1包 × ¥30.00：¥30.00（占16.67%）"
    tiered = {"rule_id": "r/pipe", "name": "铜管加长", "quantity": "5", "unit": "m", "rate": None,
              "amount": "120.00", "share": "0.3"}
    assert line_text(1, tiered, "CNY") == "1. 铜管加长 5米：¥120.00（占30.00%）"


def test_only_the_freezes_of_this_address_and_its_region_apply():
    rows = [SimpleNamespace(scope="address", value="A路1号", reason="why a"),
            SimpleNamespace(scope="region", value="330106", reason="why r"),
            SimpleNamespace(scope="address", value="B路2号", reason="why b")]
    fp = frozen_for(rows, "A路1号", "310115")
    assert fp.addresses == {"A路1号"} and not fp.regions
    fp = frozen_for(rows, "C路", "330106")
    assert fp.regions == {"330106"} and fp.reason_for("C路", ["330106"]) == "why r"
    assert frozen_for(rows, "C路", "310115") is None
    assert address_key(ticket(address=None, store=" 3号店 ")) == "3号店"


def test_the_shipped_config_and_books_price_every_mapped_service():
    setup = load_settlement()
    for m in setup.config.services:
        t = EngineTicket.from_dict({"id": "x", "service": m.service, "region": "330106",
                                    "completed_at": "2026-11-25T10:00:00+08:00",
                                    "quantities": {"hours": 1, "units": 1}})
        assert quote_ticket(t, setup.books).gross > 0


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "settlement.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_service_the_books_lack_stops_the_start_with_file_and_line(tmp_path):
    p = _write(tmp_path, "services:\n  - {device: 咖啡机, service: 咖啡机维修}\n"
                         "  - {device: 冰箱, service: 冰箱维修}\n")
    with pytest.raises(SettlementConfigError) as err:
        load_settlement(p, ROOT / "config" / "pricebooks")
    assert str(err.value).startswith(f"{p}:3: services.1.service: '冰箱维修' is not a service")


@pytest.mark.parametrize("text, where", [
    ("services:\n  - {category: fix, service: 咖啡机维修}\n", ":2: services.0.category"),
    ("services:\n  - {service: 咖啡机维修}\n", ":2: services.0"),
    ("guard:\n  max_events: 0\n", ":2: guard.max_events"),
    ("colour: red\n", ":1: colour"),
])
def test_config_errors_name_the_line_and_the_field(tmp_path, text, where):
    p = _write(tmp_path, text)
    with pytest.raises(SettlementConfigError) as err:
        load_settlement(p)
    assert f"{p}{where}" in str(err.value)


def test_a_bad_price_book_stops_the_start_with_the_books_own_line(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    good = (ROOT / "config" / "pricebooks" / "cn-home-2026b.yaml").read_text(encoding="utf-8")
    (books / "b.yaml").write_text(good.replace('rate: "120.00"', 'rate: "abc"'),
                                  encoding="utf-8")
    p = _write(tmp_path, "services: []\n")
    with pytest.raises(SettlementConfigError) as err:
        load_settlement(p, books)
    assert str(err.value).startswith(f"{books / 'b.yaml'}:")
    assert "rate" in str(err.value)
    assert not isinstance(err.value, BookError)


def test_every_settle_text_has_its_fields():
    # the templates the handlers fill: a missing key would fail in a customer's chat
    assert texts.SETTLE_DIFF_ROW.format(name="a", old="1", new="2", delta="+1")
    assert set(texts.SETTLE_CARD_DONE) >= {"confirm", "dispute", "superseded"}
    assert set(texts.SETTLE_UNPRICED_WHY) == {"no_service", "no_report", "bad_report", "no_rule",
                                              "no_cost"}
