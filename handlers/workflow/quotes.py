"""Quotes (报价单): "报价 GD… 更换压缩机1台3800元 工时2小时" from the job's technician or a
dispatcher becomes a priced quote — with the settlement books where a rule exists (labour at the
book's rate, 老客户 9折 and the other promotions, VAT), else the prices as written — goes to
approval when a rule says so (¥50,000 → 技术总监), then to the customer, who accepts or
declines (接受报价 / 拒绝报价, or the card). The accepted quote is what the statement bills
(handlers/settlement/pricing.py reads its ``basis``). A new quote supersedes the open one.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from handlers import notify
from handlers.dispatch.work import part_rows
from handlers.routing import Context
from handlers.settlement.config import SettlementSetup
from handlers.settlement.mapping import ReportData, Unpriceable
from handlers.settlement.pricing import customer_tags, price, ticket_data
from handlers.workflow import texts
from handlers.workflow.approvals import Approvals
from handlers.workflow.config import WorkflowConfig
from handlers.workflow.nodes import facts_of
from handlers.workflow.views import quote_card, quote_lines
from models.keys import actor
from models.tickets import Ticket, TicketEvent
from models.workflow import (APPROVED, Q_ACCEPTED, Q_APPROVAL, Q_DECLINED, Q_OPEN, Q_REJECTED,
                             Q_SENT, Q_SUPERSEDED, Approval, Quote, next_quote_version, quotes_of)
from nlp.staff_commands import labour_minutes, parts_used

log = logging.getLogger("handlers.workflow.quotes")
CENT = Decimal("0.01")


def _money(v: Decimal) -> str:
    return str(v.quantize(CENT))


class Quotes:
    def __init__(self, ctx: Context, cfg: WorkflowConfig) -> None:
        self.ctx, self.cfg, self.session = ctx, cfg, ctx.session
        self.now = ctx.clock.now()
        self.by_books = False  # the last quote priced was priced by the price books

    def audit(self, ticket: Ticket, action: str, who: str, after: dict[str, Any],
              reason: str | None = None) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, actor=who, action=action, after=after,
                                     reason=reason, at=self.now))

    async def tags(self, ticket: Ticket) -> list[str]:
        """The customer's tags now (老客户, 集团采购 …), as settlement reads them."""
        if SettlementSetup not in self.ctx.services:
            return []
        return await customer_tags(self.session, self.ctx.services[SettlementSetup], ticket,
                                   at=self.now)

    async def priced(self, ticket: Ticket, minutes: int, parts: list[dict[str, Any]]
                     ) -> tuple[list[dict[str, str]], Decimal, Decimal, str, Decimal, Decimal]:
        """(lines, subtotal, discount, discount label, tax, total) — from the books when a rule
        prices this ticket, else the written prices (labour then needs none)."""
        if SettlementSetup in self.ctx.services:
            setup = self.ctx.services[SettlementSetup]
            as_done = SimpleNamespace(**{**ticket.model_dump(), "resolved_at": self.now})
            try:  # priced exactly as the statement will price it (settlement/pricing.py)
                data = await ticket_data(self.session, setup, as_done,  # type: ignore[arg-type]
                                         report=ReportData(minutes, parts, None))
                st, _ = await price(self.session, setup, data)
                doc = st.to_dict()
                lines, discount, labels = [], Decimal(0), []
                for ln in doc["lines"]:
                    amount = Decimal(ln["amount"])
                    if amount < 0:
                        discount -= amount
                        labels.append(ln["name"])
                        continue
                    rate = ln.get("rate")
                    sku = ln["rule_id"].partition(":")[2]  # a part's line: its own name
                    lines.append({"name": sku.split("#")[0] or ln["name"],
                                  "qty": _qty(ln["quantity"]),
                                  "price": _money(Decimal(rate)) if rate is not None
                                  else ln["amount"], "amount": ln["amount"]})
                t = doc["totals"]
                gross, tax = Decimal(t["gross"]), Decimal(t["tax"])
                subtotal = sum((Decimal(x["amount"]) for x in lines), Decimal(0))
                self.by_books = True
                return lines, subtotal, discount, "、".join(labels), tax, gross
            except Unpriceable as exc:
                log.info("ticket %s: quote not priced by the books (%s); written prices used",
                         ticket.number, exc)
        self.by_books = False
        lines = [{"name": p["name"], "qty": _qty(p["qty"]), "price": _money(Decimal(p["unit_cost"])),
                  "amount": _money(Decimal(p["unit_cost"]) * Decimal(p["qty"]))} for p in parts]
        total = sum((Decimal(x["amount"]) for x in lines), Decimal(0))
        return lines, total, Decimal(0), "", Decimal(0), total

    async def make(self, ticket: Ticket, author: str, text: str) -> str:
        """A quote written in chat; what to tell its author."""
        minutes = labour_minutes(text)
        used = parts_used(text, headless=True)
        parts = part_rows(used)
        if not parts or any(p["unit_cost"] is None for p in parts):
            return texts.QUOTE_BAD.format(number=ticket.number)
        lines, subtotal, discount, label, tax, total = await self.priced(ticket, minutes or 0,
                                                                           parts)
        if not self.by_books and minutes:  # no book prices this labour: never drop it silently
            return texts.QUOTE_NEEDS_LABOUR_PRICE.format(number=ticket.number)
        for q in await quotes_of(self.session, ticket.id):
            if q.status in Q_OPEN:
                q.status = Q_SUPERSEDED
        q = Quote(ticket_id=ticket.id, version=await next_quote_version(self.session, ticket.id),
                  author=author, text=text[:1000], lines=lines,
                  basis={"labour_minutes": minutes or 0, "parts": parts,
                         "by_books": self.by_books},
                  subtotal=_money(subtotal), discount=_money(discount), discount_label=label[:60],
                  tax=_money(tax), total=_money(total), status=Q_APPROVAL, created_at=self.now)
        self.session.add(q)
        await self.session.flush()
        self.audit(ticket, "quote:new", actor("app", author),
                   {"quote": q.id, "version": q.version, "total": q.total})
        t = self.cfg.templates.get(ticket.template)
        facts = facts_of(ticket, amount=total, tags=tuple(await self.tags(ticket)))
        rules = [r for r in self.cfg.approval_rules(t) if r.when.holds(facts)
                 and (r.when.amount_gt is not None or r.when.amount_gte is not None
                      or r.when.customer_tags)]
        if rules:
            _, approvers = await Approvals(self.ctx, self.cfg).request(
                ticket, rules, applicant=author, amount=q.total, quote_id=q.id,
                summary=texts.QUOTE_APPROVAL_SUMMARY.format(version=q.version, total=q.total, lines=quote_lines(q)))
            names = "、".join([await Approvals(self.ctx, self.cfg).name(u) for u in approvers])
            return texts.QUOTE_WAITS_APPROVAL.format(
                total=q.total, number=ticket.number, version=q.version,
                rule="、".join(r.name for r in rules), approvers=names or texts.WECOM_APPROVERS)
        await self.send(ticket, q)
        return texts.QUOTE_SENT_TO_CUSTOMER.format(total=q.total, number=ticket.number,
                                                   version=q.version)

    async def send(self, ticket: Ticket, q: Quote) -> None:
        q.status, q.sent_at = Q_SENT, self.now
        told = await notify.tell_customer(self.ctx, ticket, texts.QUOTE_TO_CUSTOMER.format(
            number=ticket.number, summary=quote_lines(q)), private=True)
        if notify.sees_cards(ticket) and ticket.reporter:
            self.ctx.send_to(ticket.reporter, card=quote_card(q, ticket))
        elif not told:  # WeCom's 微信客服 allowance is spent: say so, promise nothing
            self.ctx.send_to(q.author, texts.QUOTE_NOT_DELIVERED.format(number=ticket.number))
        self.audit(ticket, "quote:sent", "system",
                   {"quote": q.id, "version": q.version, "total": q.total,
                    "seconds_to_customer": int((self.now - q.created_at).total_seconds())})

    async def approval_ended(self, ticket: Ticket, a: Approval, who: str = "审批人") -> None:
        q = await self.session.get(Quote, a.quote_id)
        if q is None or q.status != Q_APPROVAL:
            return
        if a.status == APPROVED:
            await self.send(ticket, q)
            self.ctx.send_to(q.author, texts.QUOTE_APPROVED_SENT.format(
                total=q.total, number=ticket.number, version=q.version, who=who))
        else:
            q.status, q.reason = Q_REJECTED, a.reason
            self.ctx.send_to(q.author, texts.QUOTE_REJECTED_TO_AUTHOR.format(
                number=ticket.number, version=q.version, reason=a.reason or "未说明", who=who))

    async def answer(self, ticket: Ticket, q: Quote, accept: bool, who: str,
                     reason: str = "") -> str:
        q.status, q.answered_at = (Q_ACCEPTED if accept else Q_DECLINED), self.now
        q.reason = None if accept else (reason or None)
        self.audit(ticket, "quote:accepted" if accept else "quote:declined", who,
                   {"quote": q.id, "version": q.version, "total": q.total}, reason or None)
        staff = {q.author, *(u for u in [ticket.assignee] if u)}
        for u in staff:
            self.ctx.send_to(u, texts.QUOTE_ACCEPTED_STAFF.format(number=ticket.number,
                                                                  total=q.total) if accept else
                             texts.QUOTE_DECLINED_STAFF.format(
                                 number=ticket.number, total=q.total,
                                 reason=f"，原因：{reason}" if reason else ""))
        if accept:
            text = texts.QUOTE_ACCEPTED if q.basis.get("by_books", True) else \
                texts.QUOTE_ACCEPTED_FINANCE
            return text.format(total=q.total, number=ticket.number)
        return texts.QUOTE_DECLINED.format(number=ticket.number)


def _qty(v: Any) -> str:
    d = Decimal(str(v))
    return format(d.normalize(), "f") if d == d.to_integral() else str(d)


async def open_quote_for(session: Any, tickets: list[Ticket]) -> tuple[Ticket, Quote] | None:
    """The newest quote sent to a customer and not yet answered, among ``tickets``."""
    best: tuple[Ticket, Quote] | None = None
    for t in tickets:
        for q in await quotes_of(session, t.id):
            if q.status == Q_SENT and (best is None or q.sent_at > best[1].sent_at):
                best = (t, q)
    return best
