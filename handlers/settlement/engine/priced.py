"""Pricing a service rule for one ticket: the charges, VAT, the split and the itemised lines,
memoised per book and rule on exactly what the charges read.

A rule's charges read only: whether each charge's condition holds, the reported quantities
the charge models name, the parts, and the freeze reason (promotional charges).  Everything
else of the ticket (time, floor, tags, region, flags, plans, dates) reaches the charges only
through their conditions.  So the priced result of a rule is a function of
``(condition results, those quantities as written, parts, freeze reason)`` and is kept under
that key.  Quantities are keyed by their exact text (``str(Decimal)``: ``1.0`` and ``1.00``
print differently, so they never share an entry).  When no charge's percentage/threshold base
names a ``parts`` charge, the parts are left out of the key: the other lines are kept and only
the parts lines (and the totals after them) are computed per ticket, by the same code (a rule
without a parts charge does not read the parts at all).  Rules
with a charge model this module does not know are priced without memo.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .books import Book, Charge, ServiceRule
from .charges import Context, Draft, condition_holds, evaluate
from .money import ZERO
from .split import split_amount
from .tax import split_vat

SHARE_QUANTUM = Decimal("0.0001")
#: models whose lines depend only on the condition, ``quantities[charge.quantity]`` and ``prior``
_QTY_MODELS = frozenset({"per_unit", "tiered", "package", "nth_item"})
_PLAIN_MODELS = frozenset({"fixed", "percentage", "spend_threshold"}) | _QTY_MODELS
_MEMO_LIMIT = 50_000  # entries per rule; the memo is dropped and refilled past this

#: (lines, subtotal, net, tax, gross, split basis, split)
Priced = tuple[tuple[Any, ...], Decimal, Decimal, Decimal, Decimal, str, tuple[tuple[str, Decimal], ...]]


class RulePlan:
    """What the charges of one rule read, and the memo of its priced results."""

    __slots__ = ("rule", "book", "memo_ok", "conditional", "qty_names", "parts_apart", "parts_keyed", "promo", "memo")

    def __init__(self, rule: ServiceRule, book: Book) -> None:
        self.rule, self.book = rule, book
        charges = rule.charges
        self.memo_ok = all(ch.model in _PLAIN_MODELS or ch.model == "parts" for ch in charges)
        self.conditional = tuple(ch.when for ch in charges if ch.when is not None)
        self.qty_names = tuple(sorted({ch.quantity for ch in charges if ch.model in _QTY_MODELS}))
        parts_ids = {ch.id for ch in charges if ch.model == "parts"}
        based_on_parts = any(b in parts_ids for ch in charges for b in ch.base)
        self.parts_apart = bool(parts_ids) and not based_on_parts  # parts lines priced per ticket
        self.parts_keyed = based_on_parts  # parts part of the memo key (no parts charge: parts unread)
        self.promo = any(ch.promotional for ch in charges)  # a freeze reason can change a line
        self.memo: dict[Any, list[Any]] = {}


def rule_plan(rule: ServiceRule, book: Book) -> RulePlan:
    """The plan (and memo) of ``rule`` in ``book``, made once per book."""
    plan: RulePlan = book.memo(("rule-plan", id(rule)), lambda: RulePlan(rule, book))
    return plan if plan.rule is rule else RulePlan(rule, book)  # (another rule object under that id)


def price_rule(plan: RulePlan, book: Book, ctx: Context, freeze_reason: str | None, line_type: Any) -> Priced:
    """The priced rule of ``plan`` (:func:`rule_plan`) for ``ctx.ticket`` (memoised; identical to
    :func:`price_direct`).

    ``line_type`` makes the statement line record from every field in order (``quote.StatementLine``).
    """
    rule = plan.rule
    if plan.book is not book or not plan.memo_ok:  # (a copied book: no memo)
        return price_direct(rule, book, ctx, freeze_reason, line_type)
    t = ctx.ticket
    q = t.quantities
    conds = tuple([condition_holds(c, ctx) for c in plan.conditional])
    qkey = tuple([None if (v := q.get(n)) is None else str(v) for n in plan.qty_names])
    if plan.parts_keyed and t.parts:
        pkey: Any = tuple([(p.sku, p.name, str(p.cost), str(p.qty)) for p in t.parts])
    else:
        pkey = None
    key = (conds, qkey, freeze_reason if plan.promo else None, pkey)
    memo = plan.memo
    entry = memo.get(key)
    if entry is None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        entry = memo[key] = [_drafts(rule, ctx, freeze_reason, skip_parts=plan.parts_apart), None]
    template = entry[0]
    if plan.parts_apart and t.parts:
        drafts: list[tuple[str, Draft]] = []
        extra = False
        for item in template:
            if type(item) is tuple:
                drafts.append(item)
            else:  # a parts charge, priced for this ticket
                more = _charge_drafts(rule, item, ctx, {}, freeze_reason)
                extra = extra or bool(more)
                drafts += more
        if extra:
            return _finish(drafts, rule, book, line_type)
    done = entry[1]
    if done is None:
        done = entry[1] = _finish([d for d in template if type(d) is tuple], rule, book, line_type)
    return done


def price_direct(rule: ServiceRule, book: Book, ctx: Context, freeze_reason: str | None, line_type: Any) -> Priced:
    """The priced rule, computed without memo."""
    return _finish(_drafts(rule, ctx, freeze_reason, skip_parts=False), rule, book, line_type)


def _drafts(rule: ServiceRule, ctx: Context, freeze_reason: str | None, *, skip_parts: bool) -> list[Any]:
    """Draft lines in book order; with ``skip_parts`` a parts charge is left as the Charge itself.

    Charges are evaluated in book order; percentage charges see the totals of the earlier
    charges they name (``prior``).
    """
    out: list[Any] = []
    prior: dict[str, Decimal] = {}
    for ch in rule.charges:
        if skip_parts and ch.model == "parts":
            out.append(ch)
            continue
        lines = _charge_drafts(rule, ch, ctx, prior, freeze_reason)
        total = ZERO
        for item in lines:
            out.append(item)
            total += item[1].amount
        prior[ch.id] = total
    return out


def _charge_drafts(rule: ServiceRule, ch: Charge, ctx: Context, prior: dict[str, Decimal],
                   freeze_reason: str | None) -> list[tuple[str, Draft]]:
    """One charge's lines with their rule ids; a frozen promotion becomes zero-amount lines."""
    lines = evaluate(ch, ctx, prior)
    if ch.promotional and freeze_reason and lines:
        lines = [Draft(d.rule_id, d.name, d.quantity, d.unit, d.rate, ZERO, True,
                       f"promotion frozen, not applied ({d.amount} skipped): {freeze_reason}", d.sub)
                 for d in lines]
    return [(f"{rule.id}/{ch.id}:{d.sub}" if d.sub else f"{rule.id}/{ch.id}", d) for d in lines]


def _finish(drafts: list[tuple[str, Draft]], rule: ServiceRule, book: Book, line_type: Any) -> Priced:
    """VAT split once on the subtotal, then the split basis allocated between parties."""
    subtotal = sum((d.amount for _, d in drafts), ZERO)
    net, tax, gross = split_vat(subtotal, rule.tax, book.quantum)
    split_rule = rule.split
    basis = "net"
    split: tuple[tuple[str, Decimal], ...] = ()
    if split_rule is not None:
        basis = split_rule.basis
        split = split_amount(gross if basis == "gross" else net, split_rule, book.quantum)
    lines_out = tuple(
        line_type(rid, d.name, book.book_id, book.version, d.quantity, d.unit, d.rate, d.amount,
                  (d.amount / subtotal).quantize(SHARE_QUANTUM) if subtotal else ZERO, d.promotional, d.note)
        for rid, d in drafts
    )
    return lines_out, subtotal, net, tax, gross, basis, split
