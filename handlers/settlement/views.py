"""What the parties read: a statement as chat text and as a 确认 / 异议 card, a correction's
differences. Pure; every word comes from ``texts.py``. Amounts to the fen, like ``¥1,234.50``.

* ``customer_text`` / ``technician_text`` / ``correction_text`` — the messages.
* ``statement_card`` — one party's card (``settle:confirm|dispute:<ack id>``, task id
  ``settle-a<ack id>``) with ``customer_card_rows`` / ``technician_card_rows``.
* ``money``, ``percent``, ``line_text`` — the pieces.
* ``quoted``, ``price_example``, ``reported_parts``, ``noted_prices``, ``finance_options`` —
  the pieces of asking for a part's price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from bot.cards import MAX_ROWS, ButtonKey, button_card
from handlers.settlement import texts
from handlers.settlement.engine.quote import Statement, diff_statements
from handlers.settlement.mapping import plain_number, technician_share
from models.keys import settle_task
from models.settlement import TECHNICIAN

#: ``settle:<action>:<ack id>`` — the party's answer (``settlement_ack`` row) to one statement
SETTLE_ACTIONS: Final = ("confirm", "dispute")
MAX_CARD_ROWS = MAX_ROWS  # WeCom shows 6 rows of a card


# -- statements as text ---------------------------------------------------------------


def money(value: Decimal | str, currency: str = "CNY") -> str:
    """``¥1,234.50`` (to the fen; ``-¥30.00`` for a discount)."""
    d = Decimal(value)
    sign = "-" if d < 0 else ""
    symbol = texts.SETTLE_CURRENCY.get(currency, currency + " ")
    return f"{sign}{symbol}{abs(d):,.2f}"


def percent(value: Decimal | str) -> str:
    """A share (0.2520) as ``25.20%``."""
    return f"{Decimal(value) * 100:.2f}%"


def _line_name(ln: Mapping[str, Any]) -> str:
    rule = str(ln["rule_id"])
    part = rule.split(":", 1)[1] if ":" in rule.split("/", 1)[-1] else ""
    return texts.SETTLE_PART_NAME.format(name=ln["name"], part=part) if part else ln["name"]


def line_text(n: int, ln: Mapping[str, Any], currency: str, *, share: bool = True) -> str:
    """One line: the charge, quantity × rate, the amount; with ``share`` (the technician's
    text) its share of the subtotal. Customers see no shares: they are internal."""
    name = _line_name(ln)
    amount = Decimal(ln["amount"])
    if ln.get("promotional") and amount == 0 and "frozen" in (ln.get("note") or ""):
        return texts.SETTLE_LINE_FROZEN.format(n=n, name=name)
    qty, unit, rate = Decimal(ln["quantity"]), str(ln["unit"]), ln.get("rate")
    if unit == "base" and rate is not None:
        detail = texts.SETTLE_DETAIL_PERCENT.format(rate=f"{Decimal(rate):+}",
                                                    base=money(qty, currency))
    elif unit.startswith("pack("):
        detail = texts.SETTLE_DETAIL.format(qty=plain_number(qty),
                                            unit=texts.SETTLE_UNITS["pack"],
                                            rate=money(rate or 0, currency))
    elif rate is None:
        detail = texts.SETTLE_DETAIL_QTY.format(qty=plain_number(qty),
                                                unit=texts.SETTLE_UNITS.get(unit, unit))
    elif unit == "次" and qty == 1:
        detail = ""
    else:
        detail = texts.SETTLE_DETAIL.format(qty=plain_number(qty),
                                            unit=texts.SETTLE_UNITS.get(unit, unit),
                                            rate=money(rate, currency))
    cost = _PART_COST.search(str(ln.get("note") or "")) if share else None
    if cost and Decimal(cost[2]) != 0:
        # a part billed above what the technician reported: they see why the rate differs
        detail += texts.SETTLE_LINE_PART_COST.format(cost=money(cost[1], currency),
                                                     markup=plain_number(Decimal(cost[2])))
    text = texts.SETTLE_LINE.format(n=n, name=name, detail=detail, amount=money(amount, currency))
    return text + texts.SETTLE_LINE_SHARE.format(share=percent(ln["share"])) if share else text


# A parts line's note, as handlers/settlement/engine/charges.py writes it: "<name>: cost <c> + <m>%"
_PART_COST = re.compile(r": cost ([0-9.]+) \+ ([0-9.]+)%$")


def _lines(st: Mapping[str, Any], *, share: bool) -> list[str]:
    return [line_text(i, ln, st["currency"], share=share) for i, ln in enumerate(st["lines"], 1)]


def _totals(st: Mapping[str, Any]) -> list[str]:
    t, ccy = st["totals"], st["currency"]
    rate = plain_number(Decimal(t["tax_rate"]) * 100)
    if t["tax_inclusive"]:
        return [texts.SETTLE_TOTAL.format(amount=money(t["gross"], ccy)),
                texts.SETTLE_TAX_INCLUSIVE.format(rate=rate, amount=money(t["tax"], ccy))]
    return [texts.SETTLE_SUBTOTAL.format(amount=money(t["subtotal"], ccy)),
            texts.SETTLE_TAX_EXCLUSIVE.format(rate=rate, amount=money(t["tax"], ccy)),
            texts.SETTLE_TOTAL.format(amount=money(t["gross"], ccy))]


def _basis(st: Mapping[str, Any]) -> str:
    book = st["book"]
    return texts.SETTLE_BOOK.format(book=book["id"], version=book["version"], rule=book["rule"])


def customer_text(number: str, st: Mapping[str, Any], *, by_card: bool) -> str:
    """The itemised statement for the customer — each line with quantity × rate, subtotal,
    VAT, total — and how to answer. Not the price book, its rule or the shares: those are
    finance's and the technician's (``technician_text``)."""
    how = texts.SETTLE_HOW_CARD if by_card else texts.SETTLE_HOW_TEXT
    return "\n".join([texts.SETTLE_HEAD.format(number=number, service=st["service"]),
                      *_lines(st, share=False), *_totals(st), how.format(number=number)])


def technician_text(number: str, st: Mapping[str, Any]) -> str:
    """The lines plus the technician's share of the split basis."""
    ccy = st["currency"]
    share = technician_share(st)
    basis_name = "gross" if (st.get("split") or {}).get("basis") == "gross" else "net"
    basis = Decimal(st["totals"][basis_name])
    pct = percent(share / basis) if basis else percent(0)
    return "\n".join([
        texts.SETTLE_TECH_HEAD.format(number=number, service=st["service"]), _basis(st),
        *_lines(st, share=True), texts.SETTLE_TECH_BASIS[basis_name].format(amount=money(basis, ccy)),
        texts.SETTLE_TECH_SHARE.format(amount=money(share, ccy), percent=pct),
        texts.SETTLE_TECH_HOW.format(number=number)])


def _card_name(ln: Mapping[str, Any]) -> str:
    """A line's name on a card (WeCom shows 5 characters of it): a part by its own name."""
    rule = str(ln["rule_id"])
    return rule.split(":", 1)[1] if ":" in rule.split("/", 1)[-1] else ln["name"]


def customer_card_rows(st: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The lines, then VAT (added on top) and the total: the amounts above the total add up to
    it. At most ``MAX_CARD_ROWS``: the last lines are combined into 其他N项; the subtotal is
    shown too when there is room. With VAT included in the prices, the total row says so."""
    ccy, lines, t = st["currency"], st["lines"], st["totals"]
    rows_ = texts.SETTLE_CARD_ROWS
    rate = plain_number(Decimal(t["tax_rate"]) * 100)
    if t["tax_inclusive"]:
        tail = [(rows_["total"], texts.SETTLE_CARD_TOTAL_INCLUSIVE.format(
            amount=money(t["gross"], ccy), tax=money(t["tax"], ccy)))]
    else:
        tail = [(rows_["tax"], texts.SETTLE_CARD_TAX.format(amount=money(t["tax"], ccy),
                                                           rate=rate)),
                (rows_["total"], money(t["gross"], ccy))]
        if len(lines) + len(tail) < MAX_CARD_ROWS:
            tail.insert(0, (rows_["subtotal"], money(t["subtotal"], ccy)))
    room = MAX_CARD_ROWS - len(tail)
    shown = lines if len(lines) <= room else lines[:room - 1]
    rows = [(_card_name(ln), money(ln["amount"], ccy)) for ln in shown]
    if len(shown) < len(lines):
        rest = sum((Decimal(ln["amount"]) for ln in lines[len(shown):]), Decimal(0))
        rows.append((rows_["more"].format(n=len(lines) - len(shown)), money(rest, ccy)))
    return rows + tail


def technician_card_rows(st: Mapping[str, Any]) -> list[tuple[str, str]]:
    ccy = st["currency"]
    return [(texts.SETTLE_CARD_ROWS["service"], st["service"]),
            (texts.SETTLE_CARD_ROWS["net"], money(st["totals"]["net"], ccy)),
            (texts.SETTLE_CARD_ROWS["share"], money(technician_share(st), ccy))]


def correction_text(number: str, old: Mapping[str, Any], new: Mapping[str, Any], *,
                    revision: int, party: str, note: str = "") -> str:
    """What changed between two statements of one ticket: the changed lines, VAT when it is
    added on top (so that the changes shown make the change of the total), and the total."""
    ccy = new["currency"]
    a, b = Statement.from_dict(old), Statement.from_dict(new)
    tax_on_top = not new["totals"]["tax_inclusive"]
    rate = plain_number(Decimal(new["totals"]["tax_rate"]) * 100)
    rows = []
    for r in diff_statements(a, b):
        if r.key in ("net", "gross") or r.delta == 0 or (r.key == "tax" and not tax_on_top):
            continue
        name = texts.SETTLE_DIFF_TAX.format(rate=rate) if r.key == "tax" else r.name
        rows.append(texts.SETTLE_DIFF_ROW.format(
            name=name, old=money(r.old, ccy) if r.old is not None else texts.SETTLE_DIFF_NONE,
            new=money(r.new, ccy) if r.new is not None else texts.SETTLE_DIFF_NONE,
            delta=money(r.delta, ccy) if r.delta < 0 else "+" + money(r.delta, ccy)))
    out = [texts.SETTLE_CORRECTED.format(number=number, revision=revision), *rows,
           texts.SETTLE_DIFF_TOTAL.format(old=money(a.gross, ccy), new=money(b.gross, ccy))]
    if party == "technician":
        out.append(texts.SETTLE_DIFF_SHARE.format(old=money(technician_share(old), ccy),
                                                  new=money(technician_share(new), ccy)))
    if note:
        out.append(texts.SETTLE_DIFF_NOTE.format(note=note))
    return "\n".join(out)


# -- parts without a price -----------------------------------------------------------------


def quoted(names: Sequence[str]) -> str:
    """“水泵”、“密封圈”."""
    return texts.LIST_SEP.join(texts.SETTLE_PART_QUOTED.format(name=n) for n in names)


def price_example(names: Sequence[str]) -> str:
    """What to answer: 水泵 180元，密封圈 35元."""
    ex = texts.SETTLE_EXAMPLE_PRICES
    return texts.SETTLE_PRICE_EXAMPLE_SEP.join(
        texts.SETTLE_PRICE_EXAMPLE.format(name=n, price=ex[i % len(ex)])
        for i, n in enumerate(names))


def reported_parts(parts: Sequence[Mapping[str, Any]]) -> str:
    """密封圈×2（单价5元）、水泵×1（未报单价）."""
    out = []
    for p in parts:
        qty = plain_number(Decimal(str(p.get("qty") or 1)))
        if p.get("unit_cost") in (None, ""):
            out.append(texts.SETTLE_REPORTED_PART_UNPRICED.format(name=p["name"], qty=qty))
        else:
            out.append(texts.SETTLE_REPORTED_PART.format(
                name=p["name"], qty=qty, cost=plain_number(Decimal(str(p["unit_cost"])))))
    return texts.LIST_SEP.join(out) or texts.SETTLE_DIFF_NONE


def noted_prices(prices: Mapping[str, Decimal]) -> str:
    """水泵 单价180元、密封圈 单价5元."""
    return texts.LIST_SEP.join(texts.SETTLE_PRICE_NOTED.format(name=n, cost=plain_number(c))
                               for n, c in prices.items())


def finance_options(names: Sequence[str]) -> str:
    """--price 水泵=单价 --price 密封圈=单价 (``settle review correct``)."""
    return " ".join(texts.SETTLE_PRICES_OPTION.format(name=n) for n in names)


# -- the card ------------------------------------------------------------------------------


def settle_key(action: str, ack_id: int) -> str:
    return ButtonKey.make("settle", action, ack_id, actions=SETTLE_ACTIONS)


def settlement_card(*, ack_id: int, title: str, desc: str, rows: list[tuple[str, str]],
                    labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A statement for one party: 确认 / 异议 (labels from the caller)."""
    return button_card(
        task_id=settle_task(ack_id), title=title, desc=desc, rows=rows,
        buttons=[(labels["confirm"], settle_key("confirm", ack_id), 1),
                 (labels["dispute"], settle_key("dispute", ack_id), 2)],
        source=source)


def statement_card(party: str, ack_id: int, st: Mapping[str, Any], number: str
                   ) -> dict[str, Any]:
    """``party``'s card for statement ``st`` of ticket ``number`` (answer row ``ack_id``)."""
    ccy = st["currency"]
    if party == TECHNICIAN:
        desc = texts.SETTLE_CARD_TECH_DESC.format(amount=money(technician_share(st), ccy))
        rows = technician_card_rows(st)
    else:
        desc = texts.SETTLE_CARD_DESC.format(service=st["service"],
                                             amount=money(st["totals"]["gross"], ccy))
        rows = customer_card_rows(st)
    return settlement_card(ack_id=ack_id, title=texts.SETTLE_CARD_TITLE.format(number=number),
                           desc=desc, rows=rows, labels=texts.SETTLE_CARD_LABELS,
                           source=texts.SETTLE_CARD_SOURCE)
