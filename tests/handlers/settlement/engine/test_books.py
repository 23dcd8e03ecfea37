"""Book loading: validation errors name file:line: field, precedence, zones, effective dates."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest

from handlers.settlement.engine.books import BookError
from handlers.settlement.loader import load_book, load_books, parse_book
from handlers.settlement.engine.quote import QuoteError, diff_statements, quote, quote_ticket, select_book
from handlers.settlement.engine.regions import point_in_polygon, region_chain

from .conftest import make_book, make_ticket

CST = timezone(timedelta(hours=8))
ROOT = Path(__file__).resolve().parents[4]

BAD_TIERS = """\
book_id: bad
version: 1
effective_from: 2026-01-01
services:
  - id: a
    service: svc
    region: CN
    charges:
      - {id: base, model: fixed, amount: 10}
  - id: b
    service: svc
    region: "310000"
    charges:
      - id: pipe
        model: tiered
        quantity: m
        tiers:
          - {up_to: 5, unit_price: 1}
          - {up_to: 3, unit_price: 2}
          - {up_to: null, unit_price: 3}
"""


def test_tier_order_error_names_file_line_and_field(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(BAD_TIERS, encoding="utf-8")
    with pytest.raises(BookError) as ei:
        load_book(f)
    # "- {up_to: 3 ...}" is on line 19 of the file
    assert str(ei.value) == (
        f"{f}:19: services[1].charges[0].tiers[1].up_to: must be greater than the previous tier's up_to"
    )
    assert ei.value.line == 19 and ei.value.path == "services[1].charges[0].tiers[1].up_to"


@pytest.mark.parametrize(
    "snippet,line,path,message",
    [
        ("services:\n  - id: a\n    service: s\n    region: '31011'\n    charges: [{id: x, model: fixed, amount: 1}]\n",
         8, "services[0].region", "6-digit administrative code"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    charges:\n      - {id: x, model: fixd, amount: 1}\n",
         10, "services[0].charges[0].model", "must be one of"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    charges:\n      - {id: x, model: fixed, amount: abc}\n",
         10, "services[0].charges[0].amount", "must be a number"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    charges:\n"
         "      - {id: x, model: fixed, amount: 1}\n      - {id: y, model: percentage, percent: 5, base: [z]}\n",
         11, "services[0].charges[1].base[0]", "not an earlier charge"),
        ("split:\n  - {party: a, percent: 60}\n  - {party: b, percent: 30}\nservices: []\n",
         5, "split", "add up to 100%"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    colour: red\n    charges: [{id: x, model: fixed, amount: 1}]\n",
         9, "services[0].colour", "unknown field"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    charges:\n"
         "      - {id: x, model: fixed, amount: 1, when: {time_window: ['25:00', '06:00']}}\n",
         10, "services[0].charges[0].when.time_window[0]", "HH:MM"),
    ],
)
def test_validation_errors(snippet, line, path, message):
    # the default header is 4 lines, so snippet line n is file line n + 4
    with pytest.raises(BookError) as ei:
        make_book(snippet, source="config/pricebooks/x.yaml")
    err = ei.value
    assert (err.source, err.line, err.path) == ("config/pricebooks/x.yaml", line, path), str(err)
    assert message in err.message
    assert str(err).startswith(f"config/pricebooks/x.yaml:{line}: {path}: ")


def test_effective_to_must_follow_from():
    with pytest.raises(BookError, match=r"x.yaml:4: effective_to: must be later"):
        parse_book("book_id: a\nversion: 1\neffective_from: 2026-02-01\neffective_to: 2026-01-01\n"
                   "services: [{id: a, service: s, region: CN, charges: [{id: x, model: fixed, amount: 1}]}]\n",
                   "x.yaml")


def test_example_books_load():
    books = load_books(ROOT / "config" / "pricebooks")
    assert {b.label for b in books} >= {"cn-home@1", "cn-home@2"}


def test_region_chain_and_ray_casting():
    assert region_chain("310115") == ("310115", "310100", "310000", "CN")
    square = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))
    assert point_in_polygon(5, 5, square) and not point_in_polygon(15, 5, square)
    # concave "U": the notch (5, 8) is outside, the arms are inside
    u = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (7.0, 10.0), (7.0, 3.0), (3.0, 3.0), (3.0, 10.0), (0.0, 10.0))
    assert not point_in_polygon(5, 8, u)
    assert point_in_polygon(1, 8, u) and point_in_polygon(9, 8, u) and point_in_polygon(5, 1, u)


PRECEDENCE = """
zones:
  - id: bj5
    name: 北京五环内
    polygon: [[116.21, 39.83], [116.40, 39.75], [116.55, 39.95], [116.30, 40.02]]
services:
  - {id: country, service: s, region: CN, charges: [{id: x, model: fixed, amount: 1}]}
  - {id: province, service: s, region: "110000", charges: [{id: x, model: fixed, amount: 2}]}
  - {id: city, service: s, region: "110100", charges: [{id: x, model: fixed, amount: 3}]}
  - {id: district, service: s, region: "110105", charges: [{id: x, model: fixed, amount: 4}]}
  - {id: zone, service: s, zone: bj5, charges: [{id: x, model: fixed, amount: 5}]}
  - {id: district-prio, service: s, region: "110108", charges: [{id: x, model: fixed, amount: 6}]}
  - {id: district-prio-hi, service: s, region: "110108", priority: 10, charges: [{id: x, model: fixed, amount: 7}]}
  - {id: district-tie-a, service: s, region: "110106", charges: [{id: x, model: fixed, amount: 8}]}
  - {id: district-tie-b, service: s, region: "110106", charges: [{id: x, model: fixed, amount: 9}]}
"""


@pytest.mark.parametrize(
    "region,location,expected",
    [
        ("110105", (116.45, 39.92), "zone"),  # 朝阳区 inside 五环: zone beats district
        ("110105", (116.70, 39.92), "district"),  # outside the polygon
        ("110102", None, "city"),  # 西城区: no district rule -> city 110100
        ("110000", None, "province"),
        ("440305", None, "country"),  # 深圳南山: only the country rule
        ("110108", None, "district-prio-hi"),  # same scope: higher priority wins
        ("110106", None, "district-tie-a"),  # same scope and priority: first in file wins
    ],
)
def test_precedence(region, location, expected):
    book = make_book(PRECEDENCE)
    assert book.resolve("s", region, location).id == expected


def test_effective_dated_selection_uses_completion_time():
    old = make_book("services: [{id: r, service: s, region: CN, charges: [{id: x, model: fixed, amount: 100}]}]\n",
                    head="book_id: b\nversion: 1\neffective_from: 2026-01-01\neffective_to: 2026-11-15\n")
    new = make_book("services: [{id: r, service: s, region: CN, charges: [{id: x, model: fixed, amount: 120}]}]\n",
                    head="book_id: b\nversion: 2\neffective_from: 2026-11-15\n")
    books = [old, new]
    # 2026-11-14 23:59 +08:00 is still book 1; midnight local (= 16:00 UTC the day before) is book 2
    assert select_book(books, datetime(2026, 11, 14, 23, 59, tzinfo=CST)).version == 1
    assert select_book(books, datetime(2026, 11, 14, 16, 0, tzinfo=timezone.utc)).version == 2
    st = quote_ticket(make_ticket(service="s", completed_at="2026-11-20T10:00:00+08:00"), books)
    assert (st.book_version, st.gross) == (2, 120)
    with pytest.raises(QuoteError, match="no price book"):
        select_book(books, datetime(2025, 12, 31, tzinfo=CST))


def test_example_book_switch_and_line_by_line_diff():
    books = load_books(ROOT / "config" / "pricebooks")
    v2 = next(b for b in books if b.version == 2)
    t = make_ticket(service="空调安装", region="310115", quantities={"hours": 2},
                    completed_at="2026-11-14T14:00:00+08:00")
    old = quote_ticket(t, books)  # completed before 2026-11-15 -> priced by v1
    assert old.book_version == 1
    new = quote(t, v2)  # recompute under the new book
    rows = {r.key: (r.old, r.new, r.delta) for r in diff_statements(old, new)}
    # v1: base 220 + labor 2 h × 90 = 180 + 城区溢价 20% × 220 = 44 -> 444.00 (net 444/1.06 = 418.87)
    # v2: base 240 + 180 + 20% × 240 = 48                         -> 468.00 (net 468/1.06 = 441.51)
    assert rows["base"] == (D("220.00"), D("240.00"), D("20.00"))
    assert rows["labor"][2] == 0
    assert rows["urban"] == (D("44.00"), D("48.00"), D("4.00"))
    assert rows["gross"] == (D("444.00"), D("468.00"), D("24.00"))
    assert rows["net"] == (D("418.87"), D("441.51"), D("22.64"))


@pytest.mark.parametrize(
    "snippet,line,path,message",
    [
        # the YAML itself: read by handlers/config_file.read_yaml, reported in the book's format
        ("currency: CNY\n" + "services: []\n", 5, "currency", "duplicate key"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    when: 2026-02-30\n", 9, "(yaml)",
         "day is out of range for month"),
        ("services:\n  - id: a\n    service: s\n    region: CN\n    a.b: 1\n    charges: [{id: x, model: fixed, amount: 1}]\n",
         9, "services[0].a.b", "unknown field"),
        ("services: [{id: a, service: s, region: CN, charges: [{id: x, model: fixed, amount: 1, amount: 2}]}]\n",
         5, "services[0].charges[0].amount", "duplicate key"),
    ],
)
def test_yaml_mistakes_name_file_line_and_field(snippet, line, path, message):
    with pytest.raises(BookError) as ei:
        make_book(snippet, source="x.yaml")
    assert (ei.value.line, ei.value.path) == (line, path), str(ei.value)
    assert ei.value.message.startswith(message) and str(ei.value).startswith(f"x.yaml:{line}: {path}: ")


def test_not_yaml_and_empty_books():
    with pytest.raises(BookError, match=r"^x.yaml:2: \(yaml\): mapping values are not allowed here"):
        parse_book("book_id: a\nversion: 1: 2\n", "x.yaml")
    with pytest.raises(BookError, match=r"^x.yaml:1: \(document\): empty file$"):
        parse_book("# only a comment\n", "x.yaml")


def test_decimals_are_read_as_written_and_anchors_merge():
    book = make_book("""\
        quantum: 0.010
        services:
          - &base {id: a, service: s, region: CN, charges: [{id: x, model: fixed, amount: 1_000.10}]}
          - {<<: *base, id: b, region: "310000"}
    """)
    assert book.quantum == D("0.010") and str(book.quantum) == "0.010"
    assert [(r.id, r.scope, r.charges[0].amount) for r in book.rules] == [
        ("a", "CN", D("1000.10")), ("b", "310000", D("1000.10"))]
