"""Dispatch's cards — an offer (接单 / 拒单 / 转派, or 抢单), a pick of people (转派 / 指派) and
an accepted job's steps (出发 → 到达 → 完工) — and the small pieces of text they and the
messages are made of (a place, a time, labour and parts). The sentences are in texts.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from bot.cards import MAX_BUTTONS, MAX_ROWS, ButtonKey, button_card
from handlers.dispatch import texts
from handlers.dispatch.engine.filters import FILTER_ZH
from handlers.voice import local_when
from models.dispatch import WorkReport
from models.keys import offer_task, work_task
from models.tickets import Ticket

#: offer: accept / decline / transfer (direct) or grab; transfer_to: a colleague picked after
#: 转派 (``ref`` the offer, ``arg`` the staff id); assign: the dispatcher's pick (``ref`` the
#: dispatch job, ``arg`` the staff id); work: depart / arrive / done on an accepted job (``ref``
#: the accepted offer)
DISPATCH_ACTIONS: Final = ("accept", "decline", "transfer", "grab", "transfer_to", "assign",
                           "depart", "arrive", "done")
#: the dispatch actions whose key carries a staff id (``arg``); every other one carries none
DISPATCH_ARG_ACTIONS: Final = ("transfer_to", "assign")


def dispatch_key(action: str, ref: int, arg: int | None = None) -> str:
    return ButtonKey.make("dispatch", action, ref, arg, actions=DISPATCH_ACTIONS)


def offer_card(*, offer_id: int, grab: bool, title: str, desc: str, rows: list[tuple[str, str]],
               labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A job offered to one technician: 接单 / 拒单 / 转派, or 抢单 when it went to several."""
    actions = ("grab",) if grab else ("accept", "decline", "transfer")
    styles = {"grab": 1, "accept": 1, "decline": 3, "transfer": 2}
    return button_card(task_id=offer_task(offer_id), title=title, desc=desc, rows=rows,
                       buttons=[(labels[a], dispatch_key(a, offer_id), styles[a]) for a in actions],
                       source=source)


def pick_card(*, task_id: str, action: str, ref: int, title: str, desc: str,
              rows: list[tuple[str, str]], choices: list[tuple[str, int]],
              source: str = "") -> dict[str, Any]:
    """Choose a person: one button per (label, staff id), at most six (转派 / 指派)."""
    return button_card(task_id=task_id, title=title, desc=desc, rows=rows,
                       buttons=[(label, dispatch_key(action, ref, sid), 1 if i == 0 else 2)
                                for i, (label, sid) in enumerate(choices[:MAX_BUTTONS])],
                       source=source)


def work_card(*, offer_id: int, stage: str, title: str, desc: str, rows: list[tuple[str, str]],
              labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """An accepted job: the steps still ahead (出发 → 到达 → 完工) as buttons; the card is
    replaced in place as the technician moves on (same task_id)."""
    ahead = {"accepted": ("depart", "arrive", "done"), "departed": ("arrive", "done"),
             "arrived": ("done",)}[stage]
    return button_card(task_id=work_task(offer_id), title=title, desc=desc, rows=rows,
                       buttons=[(labels[a], dispatch_key(a, offer_id), 1 if a == ahead[0] else 2)
                                for a in ahead], source=source)


def ticket_work_card(offer_id: int, ticket: Ticket, stage: str) -> dict[str, Any]:
    """The work card of ``ticket`` at ``stage`` (accepted, departed, arrived)."""
    return work_card(offer_id=offer_id, stage=stage,
                     title=texts.WORK_TITLE.format(title=ticket.title),
                     desc=texts.WORK_DESC.format(number=ticket.number),
                     rows=[(texts.OFFER_ROWS["place"], place(ticket)),
                           (texts.OFFER_ROWS["time"], when(ticket)), *known_rows(ticket),
                           *template_rows(ticket)][:MAX_ROWS],
                     labels=texts.WORK_LABELS, source=texts.CARD_SOURCE_DISPATCH)


def _known(ticket: Ticket) -> tuple[str, str, list[str]]:
    fields = ticket.fields or {}
    work, customer = fields.get("work") or {}, fields.get("customer") or {}
    return (str(work.get("site") or ""), str(customer.get("summary") or ""),
            [str(x) for x in customer.get("repeat") or []])


def known_rows(ticket: Ticket) -> list[tuple[str, str]]:
    """现场 (floor, notes) and 客户 (the history summary) rows, when known (kept on the ticket
    by handlers/customers at ticket_created)."""
    site, summary, _ = _known(ticket)
    return [(texts.OFFER_ROWS[k], v) for k, v in (("site", site), ("customer", summary)) if v]


def known_text(ticket: Ticket) -> str:
    """The same for a text, with a repeat problem's last fix and solution template: lines to
    add after an offer ("" when nothing is known)."""
    site, summary, repeat = _known(ticket)
    lines = ([texts.SITE_TEXT.format(site=site)] if site else []) + (
        [texts.CUSTOMER_TEXT.format(summary=summary)] if summary else []) + repeat
    return "".join(f"\n{x}" for x in lines)


def fit_rows(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most the rows a card shows: the device row goes first (the title names it)."""
    if len(rows) > MAX_ROWS:
        rows = [r for r in rows if r[0] != texts.OFFER_ROWS["device"]]
    return rows[:MAX_ROWS]


def template_rows(ticket: Ticket) -> list[tuple[str, str]]:
    """The ticket template's own fields the customer filled in (故障代码 E1 …), as stored by
    intake (handlers/intake/template_fields.py); skipped ones left out."""
    return [(str(c.get("label", "")), str(c["value"]))
            for c in (ticket.fields or {}).get("custom") or []
            if c.get("value") and c.get("value") != "无"]


# -- small pieces of text ------------------------------------------------------------------------


def appointment(ticket: Ticket) -> str:
    """The visit time the customer gave (12月2日 14:00, or 12月2日 when they named only the
    day)."""
    assert ticket.appointment_start is not None
    return local_when(ticket.appointment_start, (ticket.fields or {}).get("precision"))


def place(ticket: Ticket) -> str:
    return " ".join(x for x in (ticket.store, ticket.address) if x) or texts.PLACE_UNKNOWN


def when(ticket: Ticket) -> str:
    return appointment(ticket) if ticket.appointment_start else texts.TIME_ASAP


def hours(minutes: int) -> str:
    """1.5小时, or 50分钟 when the hours are not a round number to two places."""
    h = Decimal(minutes) / 60
    return (texts.HOURS.format(n=f"{h.normalize():f}") if h == h.quantize(Decimal("0.01"))
            else texts.MINUTES.format(n=minutes))


def part_text(p: dict[str, Any], *, prices: bool = False) -> str:
    """压缩机电容×1, or for the technician 压缩机电容×1（单价35元） / 水泵×1（未报单价）."""
    qty = f"{Decimal(p['qty']).normalize():f}"
    if not prices:
        return texts.PART_QTY.format(name=p["name"], qty=qty)
    if p.get("unit_cost") in (None, ""):
        return texts.PART_UNPRICED.format(name=p["name"], qty=qty)
    return texts.PART_PRICED.format(name=p["name"], qty=qty,
                                    cost=f"{Decimal(p['unit_cost']).normalize():f}")


def work_summary(report: WorkReport, *, prices: bool = False) -> str:
    """工时1.5小时，配件：压缩机电容×1 (or no parts); with ``prices`` (for the technician)
    each part's unit cost, or that it has none yet."""
    text = texts.WORK_SUMMARY.format(hours=hours(report.labour_minutes))
    if report.parts:
        return text + texts.WORK_PARTS.format(parts=texts.LIST_SEP.join(
            part_text(p, prices=prices) for p in report.parts))
    return text + texts.WORK_NO_PARTS


def filter_name(name: str) -> str:
    """The Chinese name of an engine filter (skill, region …)."""
    return FILTER_ZH.get(name, name)
