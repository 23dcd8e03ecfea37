"""Shared helpers for settlement tests."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

from handlers.settlement.engine.books import Book
from handlers.settlement.loader import parse_book
from handlers.settlement.engine.ticket import Ticket


def make_book(body: str, *, head: str | None = None, source: str = "test.yaml") -> Book:
    """Parse a book from a dedented YAML snippet (a default header is prepended)."""
    header = head if head is not None else (
        "book_id: t\nversion: 1\ncurrency: CNY\neffective_from: 2026-01-01\n"
    )
    return parse_book(header + textwrap.dedent(body), source)


def make_ticket(**kw: Any) -> Ticket:
    """A ticket dict with sensible defaults, turned into a Ticket."""
    data: dict[str, Any] = {
        "id": "T1",
        "service": "svc",
        "region": "310115",
        "completed_at": "2026-11-10T14:00:00+08:00",
        "provider": "P1",
        "technician": "E1",
    }
    data.update(kw)
    return Ticket.from_dict(data)


def amounts(statement: Any) -> dict[str, Decimal]:
    """rule key -> amount for a statement's lines."""
    return {ln.key: ln.amount for ln in statement.lines}
