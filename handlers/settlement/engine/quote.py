"""Quoting: price one ticket under a book into an immutable, itemised Statement."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from .books import Book, ServiceRule
from .charges import Context
from .frozen import maker
from .guard import FrozenPromotions
from .money import ZERO, fmt_money
from .priced import RulePlan, price_rule, rule_plan
from .regions import region_chain
from .ticket import Ticket


class QuoteError(ValueError):
    """A ticket cannot be priced (no book in force, no rule for service/region)."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One itemised line; ``share`` is amount / subtotal (4 decimals)."""

    rule_id: str  # "<service rule id>/<charge id>[:<part sku>]"
    name: str
    book_id: str
    book_version: int
    quantity: Decimal
    unit: str
    rate: Decimal | None
    amount: Decimal
    share: Decimal
    promotional: bool = False
    note: str = ""

    @property
    def key(self) -> str:
        """Charge key used to match lines across books (rule id without the service rule)."""
        return self.rule_id.split("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Statement:
    """Immutable settlement record for one ticket.

    ``id`` is a deterministic hash of the ticket inputs, book id, version and
    content digest, frozen promotions and ``corrects``: re-running a quote
    gives the same id; a correction is a new record whose ``corrects`` names
    the superseded statement id.
    """

    id: str
    ticket_id: str
    service: str
    region: str
    completed_at: datetime
    provider: str
    technician: str
    book_id: str
    book_version: int
    service_rule: str
    currency: str
    quantum: Decimal
    lines: tuple[StatementLine, ...]
    subtotal: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    tax_rate: Decimal
    tax_inclusive: bool
    split_basis: str
    split: tuple[tuple[str, Decimal], ...]
    corrects: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; money as strings such as ``"123.45"``."""
        q = self.quantum
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "service": self.service,
            "region": self.region,
            "completed_at": self.completed_at.isoformat(),
            "provider": self.provider,
            "technician": self.technician,
            "book": {"id": self.book_id, "version": self.book_version, "rule": self.service_rule},
            "currency": self.currency,
            "lines": [
                {
                    "rule_id": ln.rule_id,
                    "name": ln.name,
                    "book_id": ln.book_id,
                    "book_version": ln.book_version,
                    "quantity": str(ln.quantity),
                    "unit": ln.unit,
                    "rate": None if ln.rate is None else str(ln.rate),
                    "amount": fmt_money(ln.amount, q),
                    "share": str(ln.share),
                    "promotional": ln.promotional,
                    "note": ln.note,
                }
                for ln in self.lines
            ],
            "totals": {
                "subtotal": fmt_money(self.subtotal, q),
                "net": fmt_money(self.net, q),
                "tax": fmt_money(self.tax, q),
                "gross": fmt_money(self.gross, q),
                "tax_rate": str(self.tax_rate),
                "tax_inclusive": self.tax_inclusive,
            },
            "split": {"basis": self.split_basis, "parts": {p: fmt_money(a, q) for p, a in self.split}},
            "corrects": self.corrects,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Statement":
        """The statement back from its :meth:`to_dict` form (e.g. a stored record).

        The rounding quantum is taken from the decimals of the stored amounts (``to_dict``
        writes every amount with the quantum's decimals).
        """
        totals = d["totals"]
        exp = Decimal(totals["gross"]).as_tuple().exponent
        quantum = Decimal(1).scaleb(exp if isinstance(exp, int) else 0)
        lines = tuple(
            StatementLine(ln["rule_id"], ln["name"], ln["book_id"], int(ln["book_version"]), Decimal(ln["quantity"]),
                          ln["unit"], None if ln["rate"] is None else Decimal(ln["rate"]), Decimal(ln["amount"]),
                          Decimal(ln["share"]), bool(ln.get("promotional")), ln.get("note", ""))
            for ln in d["lines"]
        )
        book = d["book"]
        return Statement(
            d["id"], d["ticket_id"], d["service"], d["region"], datetime.fromisoformat(d["completed_at"]),
            d.get("provider", ""), d.get("technician", ""), book["id"], int(book["version"]), book["rule"],
            d["currency"], quantum, lines, Decimal(totals["subtotal"]), Decimal(totals["net"]),
            Decimal(totals["tax"]), Decimal(totals["gross"]), Decimal(totals["tax_rate"]),
            bool(totals["tax_inclusive"]), d["split"]["basis"],
            tuple((p, Decimal(a)) for p, a in d["split"]["parts"].items()), d.get("corrects"),
        )


def select_book(books: Sequence[Book], at: datetime, book_id: str = "") -> Book:
    """The book in force at ``at`` (latest ``effective_from``, then highest version).

    ``book_id`` restricts the choice to one book series (tickets may name it).
    """
    best: Book | None = None
    for b in books:
        if book_id and b.book_id != book_id:
            continue
        if b.in_force(at) and (best is None or (b.effective_from, b.version) > (best.effective_from, best.version)):
            best = b
    if best is None:
        raise QuoteError(f"no price book{' ' + book_id if book_id else ''} in force at {at.isoformat()}")
    return best


def quote(ticket: Ticket, book: Book, *, frozen: FrozenPromotions | None = None, corrects: str | None = None) -> Statement:
    """Price ``ticket`` under ``book``.

    Charges are evaluated in book order; percentage charges see the totals of
    the earlier charges they name.  Promotional charges are skipped (with a
    zero-amount explanatory line) when ``frozen`` covers the ticket's address
    or region.  VAT is split once on the subtotal, then the split basis is
    allocated between parties.
    """
    rule, scopes, plan = _place(book, ticket.service, ticket.region, ticket.location)
    if rule is None or plan is None:
        raise QuoteError(f"{book.label}: no rule for service {ticket.service!r} in region {ticket.region}")
    done_local = ticket.completed_at.astimezone(book.utc_offset)
    work = done_local if ticket.started_at is None else ticket.started_at.astimezone(book.utc_offset)
    ctx = Context(ticket, work.hour * 60 + work.minute, scopes, book.quantum, done_local.date())
    freeze_reason = frozen.reason_for(ticket.address, scopes) if frozen else None

    lines_out, subtotal, net, tax, gross, basis, split = price_rule(plan, book, ctx, freeze_reason, _new_line)
    frozen_key = freeze_reason or ""
    raw_id = f"{ticket.fingerprint()}\x1f{book.book_id}\x1f{book.version}\x1f{book.digest}\x1f{frozen_key}\x1f{corrects or ''}"
    sid = "st-" + hashlib.sha256(raw_id.encode("utf-8")).hexdigest()[:32]
    return _new_statement(
        sid, ticket.id, ticket.service, ticket.region, ticket.completed_at, ticket.provider, ticket.technician,
        book.book_id, book.version, rule.id, book.currency, book.quantum, lines_out, subtotal, net, tax, gross,
        rule.tax.rate, rule.tax.inclusive, basis, split, corrects,
    )


_new_line = maker(StatementLine)
_new_statement = maker(Statement)
_PLACE_LIMIT = 100_000


def _place(book: Book, service: str, region: str,
           location: tuple[float, float] | None) -> tuple[ServiceRule | None, frozenset[str], RulePlan | None]:
    """``(rule or None, scopes, rule plan)`` of a service at a region/location under ``book``.

    The same as ``book.resolve`` and :func:`_scopes` of ``book.zones_at``, remembered on the
    book by ``(service, region, location)`` (both depend on nothing else).
    """
    places = book.memo("places", dict)
    key = (service, region, location)
    hit = places.get(key)
    if hit is None:
        if len(places) >= _PLACE_LIMIT:
            places.clear()
        rule = book.resolve(service, region, location)
        hit = places[key] = (rule, _scopes(region, book.zones_at(location)),
                             None if rule is None else rule_plan(rule, book))
    return hit


@lru_cache(maxsize=4096)
def _scopes(region: str, zones: tuple[str, ...]) -> frozenset[str]:
    """Region chain codes plus containing zone ids (for ``region_in`` conditions)."""
    return frozenset(region_chain(region) + zones)


def quote_ticket(ticket: Ticket, books: Sequence[Book], *, frozen: FrozenPromotions | None = None) -> Statement:
    """Price ``ticket`` with the book in force when its work was completed."""
    return quote(ticket, select_book(books, ticket.completed_at, ticket.book_id), frozen=frozen)


def correct(old: Statement, ticket: Ticket, book: Book, *, frozen: FrozenPromotions | None = None) -> Statement:
    """A new statement for corrected inputs that references ``old`` (``corrects=old.id``)."""
    if ticket.id != old.ticket_id:
        raise QuoteError(f"correction for ticket {ticket.id} cannot correct statement of {old.ticket_id}")
    return quote(ticket, book, frozen=frozen, corrects=old.id)


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One line of a re-pricing diff."""

    key: str
    name: str
    old: Decimal | None
    new: Decimal | None

    @property
    def delta(self) -> Decimal:
        """new - old (missing side counts as 0)."""
        return (self.new or ZERO) - (self.old or ZERO)


def diff_statements(old: Statement, new: Statement) -> list[DiffRow]:
    """Line-by-line comparison of two statements for the same ticket.

    Lines are matched by charge key (``rule_id`` without the service rule
    prefix); the result lists every key of either side in order of first
    appearance (old first), followed by ``net``, ``tax`` and ``gross`` rows.
    """
    old_by = {ln.key: ln for ln in old.lines}
    new_by = {ln.key: ln for ln in new.lines}
    keys = list(old_by) + [k for k in new_by if k not in old_by]
    rows = [
        DiffRow(k, (new_by.get(k) or old_by[k]).name,
                old_by[k].amount if k in old_by else None, new_by[k].amount if k in new_by else None)
        for k in keys
    ]
    rows += [DiffRow(t, t, getattr(old, t), getattr(new, t)) for t in ("net", "tax", "gross")]
    return rows


def diff_to_dict(old: Statement, new: Statement) -> dict[str, Any]:
    """JSON-ready diff between two statements."""
    q = new.quantum

    def s(v: Decimal | None) -> str | None:
        return None if v is None else fmt_money(v, q)

    return {
        "ticket_id": new.ticket_id,
        "old": {"statement": old.id, "book": f"{old.book_id}@{old.book_version}"},
        "new": {"statement": new.id, "book": f"{new.book_id}@{new.book_version}"},
        "rows": [{"key": r.key, "name": r.name, "old": s(r.old), "new": s(r.new), "delta": s(r.delta)}
                 for r in diff_statements(old, new)],
    }
