"""Monthly settlement per provider and technician.

Takes plain ticket records (``Ticket`` or JSON dicts), prices each with the
book in force at completion, converts to the settlement currency with dated
FX rates, aggregates, then applies the period rules of the book in force at
the end of the month: rebate ladder, SLA drops/penalties and
satisfaction-weighted technician fees.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

from .books import Book, PeriodRules
from .guard import FrozenPromotions
from .money import ONE, ZERO, allocate, fmt_money, quantum_for, round_money, to_decimal
from .ladder import rebate_amount
from .quote import Statement, quote, select_book
from .ticket import Ticket, shared_zone

CST = shared_zone(timedelta(hours=8))


class SettlementError(ValueError):
    """Inconsistent period input (duplicate ticket with different inputs, missing FX rate ...)."""


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 ``base`` = ``rate`` ``quote`` from ``on`` (until the next dated rate)."""

    base: str
    quote: str
    on: date
    rate: Decimal


class FxTable:
    """Dated exchange rates; the rate used is the latest dated on or before the ticket's completion date."""

    def __init__(self, rates: Iterable[FxRate] = ()) -> None:
        table: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for r in rates:
            table.setdefault((r.base.upper(), r.quote.upper()), []).append((r.on, r.rate))
        self._dates = {k: [d for d, _ in sorted(v)] for k, v in table.items()}
        self._rates = {k: [x for _, x in sorted(v)] for k, v in table.items()}

    @staticmethod
    def from_records(records: Iterable[Mapping[str, Any]]) -> "FxTable":
        """Build from dicts ``{"base": "JPY", "quote": "CNY", "date": "2026-11-01", "rate": "0.0472"}``."""
        return FxTable(
            FxRate(str(r["base"]), str(r["quote"]), date.fromisoformat(str(r["date"])), to_decimal(r["rate"]))
            for r in records
        )

    def rate(self, base: str, quote_ccy: str, on: date) -> Decimal:
        """Rate to convert ``base`` into ``quote_ccy`` on ``on``."""
        if base == quote_ccy:
            return ONE
        key = (base, quote_ccy)
        dates = self._dates.get(key)
        i = bisect_right(dates, on) if dates else 0
        if not i:
            raise SettlementError(f"no {base}->{quote_ccy} rate dated on or before {on}")
        return self._rates[key][i - 1]


@dataclass(frozen=True, slots=True)
class ProviderSettlement:
    """Month totals for one provider (settlement currency)."""

    provider: str
    tickets: int
    net: Decimal
    tax: Decimal
    gross: Decimal
    shares: tuple[tuple[str, Decimal], ...]
    breaches: int
    rebate_basis: Decimal
    rebate_tier: int  # 0-based tier index actually applied (after SLA drops), -1 if no ladder
    rebate: Decimal
    sla_penalty: Decimal
    payable: Decimal  # provider share + rebate - SLA penalty
    segment: str = ""  # the provider's segment whose rebate ladder applied ("" : the default)


@dataclass(frozen=True, slots=True)
class TechnicianSettlement:
    """Month totals for one technician."""

    technician: str
    provider: str
    tickets: int
    share: Decimal
    satisfaction_adjustment: Decimal  # <= 0: amount withheld for low ratings
    payout: Decimal


@dataclass(frozen=True)
class PeriodResult:
    """Immutable month settlement; ``id`` is deterministic for the same inputs."""

    id: str
    month: str
    currency: str
    quantum: Decimal
    rules_book: str | None
    tickets: int
    skipped: int
    net: Decimal
    tax: Decimal
    gross: Decimal
    platform: Decimal  # platform share + withheld satisfaction - rebates + penalties
    providers: tuple[ProviderSettlement, ...]
    technicians: tuple[TechnicianSettlement, ...]
    statements: tuple[Statement, ...] = field(default=(), repr=False)
    provider_party: str = "provider"
    technician_party: str = "technician"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (money as strings)."""
        q = self.quantum
        m = lambda v: fmt_money(v, q)  # noqa: E731
        return {
            "id": self.id, "month": self.month, "currency": self.currency, "rules_book": self.rules_book,
            "tickets": self.tickets, "skipped": self.skipped,
            "totals": {"net": m(self.net), "tax": m(self.tax), "gross": m(self.gross), "platform": m(self.platform)},
            "providers": [
                {"provider": p.provider, "tickets": p.tickets, "net": m(p.net), "tax": m(p.tax), "gross": m(p.gross),
                 "shares": {k: m(v) for k, v in p.shares}, "breaches": p.breaches,
                 "rebate_basis": str(p.rebate_basis), "rebate_tier": p.rebate_tier, "rebate": m(p.rebate),
                 "sla_penalty": m(p.sla_penalty), "payable": m(p.payable)}
                | ({"segment": p.segment} if p.segment else {})
                for p in self.providers
            ],
            "technicians": [
                {"technician": t.technician, "provider": t.provider, "tickets": t.tickets, "share": m(t.share),
                 "satisfaction_adjustment": m(t.satisfaction_adjustment), "payout": m(t.payout)}
                for t in self.technicians
            ],
        }


def month_bounds(month: str, tz: timezone = CST) -> tuple[datetime, datetime]:
    """[start, end) of ``YYYY-MM`` in ``tz``."""
    try:
        y, mo = (int(x) for x in month.split("-"))
        start = datetime(y, mo, 1, tzinfo=tz)
    except ValueError:
        raise SettlementError(f"month must be YYYY-MM, got {month!r}") from None
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=tz)
    return start, end


class _Acc:
    __slots__ = ("tickets", "net", "tax", "gross", "shares", "breaches")

    def __init__(self) -> None:
        self.tickets = 0
        self.net = self.tax = self.gross = ZERO
        self.shares: dict[str, Decimal] = {}
        self.breaches = 0

    def merge(self, o: "_Acc") -> None:
        self.tickets += o.tickets
        self.net += o.net
        self.tax += o.tax
        self.gross += o.gross
        self.breaches += o.breaches
        for k, v in o.shares.items():
            self.shares[k] = self.shares.get(k, ZERO) + v

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.tickets, self.net, self.tax, self.gross, self.shares, self.breaches)

    def __setstate__(self, st: tuple[Any, ...]) -> None:
        self.tickets, self.net, self.tax, self.gross, self.shares, self.breaches = st


class _TechAcc:
    __slots__ = ("tickets", "share", "withheld")

    def __init__(self) -> None:
        self.tickets = 0
        self.share = ZERO
        self.withheld = ZERO

    def merge(self, o: "_TechAcc") -> None:
        self.tickets += o.tickets
        self.share += o.share
        self.withheld += o.withheld

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.tickets, self.share, self.withheld)

    def __setstate__(self, st: tuple[Any, ...]) -> None:
        self.tickets, self.share, self.withheld = st


class PeriodTotals:
    """Mergeable running totals of a month (picklable; shard by provider to run in parallel)."""

    __slots__ = ("providers", "techs", "id_acc", "tickets", "skipped")

    def __init__(self) -> None:
        self.providers: dict[str, _Acc] = {}
        self.techs: dict[tuple[str, str], _TechAcc] = {}
        self.id_acc = 0
        self.tickets = 0
        self.skipped = 0

    def merge(self, other: "PeriodTotals") -> None:
        """Add another shard's totals (shards must not share tickets)."""
        for k, a in other.providers.items():
            self.providers.setdefault(k, _Acc()).merge(a)
        for tk, ta in other.techs.items():
            self.techs.setdefault(tk, _TechAcc()).merge(ta)
        self.id_acc = (self.id_acc + other.id_acc) & _MASK
        self.tickets += other.tickets
        self.skipped += other.skipped

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.providers, self.techs, self.id_acc, self.tickets, self.skipped)

    def __setstate__(self, st: tuple[Any, ...]) -> None:
        self.providers, self.techs, self.id_acc, self.tickets, self.skipped = st


_MASK = (1 << 128) - 1


class PeriodAccumulator:
    """Streams tickets of one month into :class:`PeriodTotals`; see :func:`settle_period`."""

    def __init__(
        self, books: Sequence[Book], month: str, *, currency: str | None = None, fx: FxTable | None = None,
        frozen: FrozenPromotions | None = None, tz: timezone = CST,
        segments: Mapping[str, str] | None = None,
    ) -> None:
        self.books, self.month, self.tz, self.frozen = books, month, tz, frozen
        self.segments = dict(segments or {})  # provider -> segment (省级代理 …)
        self.start, self.end = month_bounds(month, tz)
        self.rules_book = _period_book(books, self.end)
        self.rules = self.rules_book.period if self.rules_book else PeriodRules()
        rb = self.rules_book
        self.currency = (currency or (rb.currency if rb else "CNY")).upper()
        self.quantum = rb.quantum if rb is not None and rb.currency == self.currency else quantum_for(self.currency)
        self.fx = fx or FxTable()
        self.totals = PeriodTotals()
        self._weights = dict(self.rules.satisfaction_weights)
        self._pick = _BookPicker(books)
        self._seen: dict[str, str] = {}

    def add(self, raw: Ticket | Mapping[str, Any]) -> Statement | None:
        """Price and aggregate one ticket; None if outside the month or an identical re-run."""
        t = raw if isinstance(raw, Ticket) else Ticket.from_dict(raw)
        tot = self.totals
        if not (self.start <= t.completed_at < self.end):
            tot.skipped += 1
            return None
        st = quote(t, self._pick(t.completed_at, t.book_id), frozen=self.frozen)
        return self._aggregate(t, st)

    def add_statement(self, ticket: Ticket, st: Statement) -> Statement | None:
        """Aggregate a statement priced earlier (e.g. a stored record) instead of quoting again.

        ``ticket`` supplies what only the period needs (provider, technician, SLA breach,
        satisfaction); the money comes from ``st``. None if outside the month or a re-run.
        """
        if st.ticket_id != ticket.id:
            raise SettlementError(f"statement {st.id} is for ticket {st.ticket_id}, not {ticket.id}")
        if not (self.start <= ticket.completed_at < self.end):
            self.totals.skipped += 1
            return None
        return self._aggregate(ticket, st)

    def _aggregate(self, t: Ticket, st: Statement) -> Statement | None:
        tot = self.totals
        prev = self._seen.get(t.id)
        if prev is not None:
            if prev == st.id:
                return None
            raise SettlementError(f"ticket {t.id} appears twice with different inputs ({prev} vs {st.id})")
        self._seen[t.id] = st.id
        tot.id_acc = (tot.id_acc + int(st.id[3:], 16)) & _MASK
        tot.tickets += 1

        net, tax, gross, split = st.net, st.tax, st.gross, st.split
        q = self.quantum
        if st.currency != self.currency:
            r = self.fx.rate(st.currency, self.currency, t.completed_at.astimezone(self.tz).date())
            gross = round_money(st.gross * r, q)
            tax = round_money(st.tax * r, q)
            net = gross - tax
            if split:
                basis = gross if st.split_basis == "gross" else net
                amounts = [a for _, a in split]
                conv = allocate(basis, amounts if any(amounts) else [1] * len(amounts), q)
                split = tuple((p, c) for (p, _), c in zip(split, conv))
        acc = tot.providers.get(t.provider)
        if acc is None:
            acc = tot.providers[t.provider] = _Acc()
        acc.tickets += 1
        acc.net += net
        acc.tax += tax
        acc.gross += gross
        acc.breaches += t.sla_breached
        tech_party = self.rules.technician_party
        shares = acc.shares
        for party, amt in split:
            shares[party] = shares.get(party, ZERO) + amt
            if party == tech_party:
                tk = (t.technician, t.provider)
                ta = tot.techs.get(tk)
                if ta is None:
                    ta = tot.techs[tk] = _TechAcc()
                ta.tickets += 1
                ta.share += amt
                if self._weights and t.satisfaction is not None:
                    w = self._weights.get(t.satisfaction, ONE)
                    if w != ONE:
                        ta.withheld += amt * (ONE - w)
        return st

    def result(self, statements: Sequence[Statement] = ()) -> PeriodResult:
        """Apply month-end rules (rebates, SLA, satisfaction) and freeze the result."""
        rules, q, tot = self.rules, self.quantum, self.totals
        prov_party, tech_party = rules.provider_party, rules.technician_party
        prov_out = []
        tot_net = tot_tax = tot_gross = platform = ZERO
        for name in sorted(tot.providers):
            a = tot.providers[name]
            tier, rebate, basis_value = -1, ZERO, ZERO
            segment = self.segments.get(name, "")
            ladder = rules.ladder_for(segment)
            if ladder is not None:
                basis_value = a.net if ladder.basis == "revenue" else Decimal(a.tickets)
                exact, tier = rebate_amount(basis_value, ladder, a.breaches * rules.sla_drop_tiers)
                rebate = round_money(exact, q)
            penalty = round_money(rules.sla_penalty * a.breaches, q)
            payable = a.shares.get(prov_party, ZERO) + rebate - penalty
            prov_out.append(ProviderSettlement(name, a.tickets, a.net, a.tax, a.gross, tuple(sorted(a.shares.items())),
                                               a.breaches, basis_value, tier, rebate, penalty, payable,
                                               segment if any(g == segment for g, _ in rules.segment_rebates) else ""))
            tot_net += a.net
            tot_tax += a.tax
            tot_gross += a.gross
            platform += sum((v for k, v in a.shares.items() if k not in (prov_party, tech_party)), ZERO)
            platform += penalty - rebate
        tech_out = []
        for tech, prov in sorted(tot.techs):
            ta = tot.techs[(tech, prov)]
            withheld = round_money(ta.withheld, q)
            platform += withheld
            tech_out.append(TechnicianSettlement(tech, prov, ta.tickets, ta.share, -withheld, ta.share - withheld))
        rb = self.rules_book
        basis = f"{self.month}\x1f{self.currency}\x1f{rb.label + rb.digest if rb else ''}\x1f{tot.id_acc:032x}\x1f{tot.tickets}"
        if self.segments:  # which ladder each provider got is part of the result
            basis += "\x1f" + "\x1e".join(f"{k}={v}" for k, v in sorted(self.segments.items()))
        pid = "ps-" + hashlib.sha256(basis.encode()).hexdigest()[:32]
        return PeriodResult(pid, self.month, self.currency, q, rb.label if rb else None, tot.tickets, tot.skipped,
                            tot_net, tot_tax, tot_gross, platform, tuple(prov_out), tuple(tech_out),
                            tuple(statements), prov_party, tech_party)


def settle_period(
    tickets: Iterable[Ticket | Mapping[str, Any]],
    books: Sequence[Book],
    month: str,
    *,
    currency: str | None = None,
    fx: FxTable | None = None,
    frozen: FrozenPromotions | None = None,
    tz: timezone = CST,
    keep_statements: bool = False,
    on_statement: Callable[[Statement], None] | None = None,
    segments: Mapping[str, str] | None = None,
) -> PeriodResult:
    """Settle one month (``YYYY-MM``) of completed tickets.

    Each ticket is priced with the book in force at its completion and
    converted to the settlement currency (default: the currency of the book in
    force at month end, whose ``period`` rules apply).  Tickets completed
    outside the month are counted in ``skipped``.  The same ticket twice with
    identical inputs is counted once (idempotent re-run); the same ticket id
    with different inputs raises :class:`SettlementError` (issue a correction
    instead).  ``on_statement`` receives every new statement (e.g. to store it).
    """
    acc = PeriodAccumulator(books, month, currency=currency, fx=fx, frozen=frozen, tz=tz, segments=segments)
    kept: list[Statement] = []
    for raw in tickets:
        st = acc.add(raw)
        if st is not None:
            if on_statement is not None:
                on_statement(st)
            if keep_statements:
                kept.append(st)
    return acc.result(kept)


def _period_book(books: Sequence[Book], end: datetime) -> Book | None:
    try:
        return select_book(books, end - timedelta(microseconds=1))
    except ValueError:
        return None


class _BookPicker:
    """select_book() memoised per interval between book boundaries (the choice is constant inside one)."""

    def __init__(self, books: Sequence[Book]) -> None:
        self.books = books
        edges = {b.effective_from for b in books} | {b.effective_to for b in books if b.effective_to}
        self.edges = sorted(edges)
        self.cache: dict[tuple[int, str], Book] = {}

    def __call__(self, at: datetime, book_id: str = "") -> Book:
        key = (bisect_right(self.edges, at), book_id)
        b = self.cache.get(key)
        if b is None:
            b = self.cache[key] = select_book(self.books, at, book_id)
        return b
