"""The workflow's cards (a node's 完成 / 转交, an approver's 同意 / 驳回 / 转交, a quote's 接受 /
拒绝) and the rows they show of a ticket — its template's card fields included."""

from __future__ import annotations

from typing import Any, Final

from bot.cards import ButtonKey, button_card
from handlers.voice import CATEGORY_NAMES
from handlers.workflow import texts
from handlers.workflow.config import WorkflowConfig
from models.keys import approval_card_task, node_task, quote_task
from models.tickets import Ticket
from models.workflow import ApprovalTask, Quote, WorkflowNode

NODE_ACTIONS: Final = ("done", "transfer")
APPROVAL_ACTIONS: Final = ("approve", "reject_price", "reject_plan", "reject_other", "transfer")
QUOTE_ACTIONS: Final = ("accept", "decline")


def custom_rows(ticket: Ticket, cfg: WorkflowConfig | None = None) -> list[tuple[str, str]]:
    """The template's fields the ticket was given (label, value), in the template's card order."""
    custom = [c for c in (ticket.fields or {}).get("custom") or []
              if c.get("value") and c.get("value") != "无"]
    t = cfg.templates.get(ticket.template) if cfg else None
    if t is not None and t.card:
        order = {k: i for i, k in enumerate(t.card)}
        custom = sorted((c for c in custom if c["key"] in order), key=lambda c: order[c["key"]])
    return [(c["label"], c["value"]) for c in custom]


def ticket_rows(ticket: Ticket, cfg: WorkflowConfig | None = None) -> list[tuple[str, str]]:
    place = " ".join(x for x in (ticket.store, ticket.address) if x)
    kind = (ticket.fields or {}).get("kind_name") or CATEGORY_NAMES.get(ticket.category,
                                                                        ticket.category)
    rows = [(texts.NODE_ROWS["category"], kind)]
    if place:
        rows.append((texts.NODE_ROWS["place"], place))
    rows += custom_rows(ticket, cfg)
    if ticket.phone:
        rows.append((texts.NODE_ROWS["phone"], ticket.phone))
    rows.append((texts.NODE_ROWS["description"], (ticket.description or "")[:60]))
    return rows


def node_card(node: WorkflowNode, ticket: Ticket, rows: list[tuple[str, str]]) -> dict[str, Any]:
    return button_card(
        task_id=node_task(node.id), title=texts.NODE_TITLE.format(node=node.name,
                                                                  number=ticket.number),
        desc=texts.NODE_DESC.format(title=ticket.title or ticket.number), rows=rows,
        buttons=[(texts.NODE_LABELS[a], ButtonKey.make("flow", a, node.id, actions=NODE_ACTIONS),
                  1 if a == "done" else 2) for a in (node.actions or ["done"])
                 if a in NODE_ACTIONS],
        source=texts.CARD_SOURCE)


def approval_card(task: ApprovalTask, *, title: str, rows: list[tuple[str, str]],
                  desc: str) -> dict[str, Any]:
    return button_card(
        task_id=approval_card_task(task.id), title=title, desc=desc, rows=rows,
        buttons=[(texts.APPROVAL_LABELS[a], ButtonKey.make("approval", a, task.id,
                                                            actions=APPROVAL_ACTIONS),
                  1 if a == "approve" else 2) for a in APPROVAL_ACTIONS],
        source=texts.CARD_SOURCE)


def quote_lines(q: Quote) -> str:
    lines = "\n".join(texts.QUOTE_LINE.format(**ln) for ln in q.lines)
    discount = texts.QUOTE_DISCOUNT.format(label=q.discount_label or "优惠",
                                           amount=q.discount) if q.discount not in ("0", "0.00") \
        else ""
    from decimal import Decimal

    tax = ""
    if q.tax not in ("0", "0.00"):
        added = Decimal(q.subtotal) - Decimal(q.discount) + Decimal(q.tax) == Decimal(q.total)
        tax = (f"\n增值税 ¥{q.tax}" if added else "")
    out = texts.QUOTE_SUMMARY.format(lines=lines, subtotal=q.subtotal, discount=discount + tax,
                                     total=q.total)
    if q.tax not in ("0", "0.00") and not tax:
        out += f"（含税 ¥{q.tax}）"
    return out


def quote_card(q: Quote, ticket: Ticket) -> dict[str, Any]:
    rows = [(ln["name"][:5], f"{ln['qty']}×¥{ln['price']}") for ln in q.lines[:4]]
    if q.discount not in ("0", "0.00"):
        rows.append(((q.discount_label or "优惠")[:5], f"-¥{q.discount}"))
    rows.append(("合计", f"¥{q.total}"))
    return button_card(
        task_id=quote_task(q.id), title=texts.QUOTE_CARD_TITLE.format(number=ticket.number),
        desc=texts.QUOTE_CARD_DESC.format(total=q.total), rows=rows,
        buttons=[(texts.QUOTE_CARD_LABELS[a], ButtonKey.make("quote", a, q.id,
                                                            actions=QUOTE_ACTIONS),
                  1 if a == "accept" else 2) for a in QUOTE_ACTIONS],
        source=texts.CARD_SOURCE)
