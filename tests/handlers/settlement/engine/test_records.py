"""Stored statements: ``Statement.from_dict`` gives back what ``to_dict`` wrote, and a month
settled from stored statements (``PeriodAccumulator.add_statement``) equals one quoted again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.settlement.loader import load_books
from handlers.settlement.engine.period import PeriodAccumulator, SettlementError, settle_period
from handlers.settlement.engine.quote import Statement, correct, diff_statements, quote_ticket
from handlers.settlement.engine.ticket import Ticket

BOOKS = load_books(Path(__file__).resolve().parents[4] / "config" / "pricebooks")


def tickets() -> list[dict]:
    base = {"region": "310115", "provider": "P1", "technician": "E1"}
    return [
        base | {"id": "A", "service": "咖啡机维修", "completed_at": "2026-11-20T10:00:00+08:00",
                "quantities": {"hours": 1.5, "km": 6.2},
                "parts": [{"sku": "C1", "name": "电容", "cost": "35.00", "qty": 1}],
                "satisfaction": 3},
        base | {"id": "B", "service": "空调安装", "region": "330106",
                "completed_at": "2026-11-21T23:30:00+08:00", "customer_tags": ["老客户"],
                "quantities": {"hours": 2, "pipe_m": 5}},
        base | {"id": "C", "service": "油烟机清洗", "completed_at": "2026-11-10T10:00:00+08:00",
                "quantities": {"units": 4, "filters": 6}, "technician": "E2"},
    ]


@pytest.mark.parametrize("i", [0, 1, 2])
def test_a_statement_comes_back_from_its_json(i):
    st = quote_ticket(Ticket.from_dict(tickets()[i]), BOOKS)
    back = Statement.from_dict(json.loads(json.dumps(st.to_dict())))
    assert back == st
    assert back.to_dict() == st.to_dict()


def test_a_correction_comes_back_with_its_reference_and_diffs_the_same():
    old = quote_ticket(Ticket.from_dict(tickets()[0]), BOOKS)
    fixed = Ticket.from_dict(tickets()[0] | {"quantities": {"hours": 1, "km": 6.2}})
    book = next(b for b in BOOKS if b.version == old.book_version)
    new = correct(old, fixed, book)
    back = Statement.from_dict(new.to_dict())
    assert back.corrects == old.id
    assert diff_statements(Statement.from_dict(old.to_dict()), back) == diff_statements(old, new)


def test_a_month_from_stored_statements_equals_the_month_quoted_again():
    quoted = settle_period(tickets(), BOOKS, "2026-11")
    acc = PeriodAccumulator(BOOKS, "2026-11")
    for data in tickets():
        t = Ticket.from_dict(data)
        stored = Statement.from_dict(quote_ticket(t, BOOKS).to_dict())
        assert acc.add_statement(t, stored) is not None
        assert acc.add_statement(t, stored) is None  # a re-run counts once
    from_records = acc.result()
    assert from_records.to_dict() == quoted.to_dict()
    assert from_records.id == quoted.id


def test_a_stored_statement_outside_the_month_or_of_another_ticket():
    acc = PeriodAccumulator(BOOKS, "2026-12")
    t = Ticket.from_dict(tickets()[0])
    st = quote_ticket(t, BOOKS)
    assert acc.add_statement(t, st) is None and acc.totals.skipped == 1
    with pytest.raises(SettlementError):
        acc.add_statement(Ticket.from_dict(tickets()[1]), st)
