"""A ticket's workflow nodes at run time: made from its template when the ticket is created,
moved on by the ticket's life (accepted, resolved, billed, closed) and by their owners
(完成 / 转交), and extended on a live ticket (加质检 GD…). Every change is audited.

A ticket nobody dispatches (a complaint, a return, an invoice …) is moved by its nodes: it goes
``new → in_progress`` when its first task starts and ``resolved → closed`` when its close node is
reached, and the customer is told both times. A dispatched ticket's own life is not gated by
its nodes: a node inserted before 上门 never stops the technician (the issue's "不会打断正在
进行的服务流程"); its owner works beside the job.
"""

from __future__ import annotations

import logging
from typing import Any

from handlers import notify
from handlers.lifecycle import can_transition, transition
from handlers.routing import Context
from handlers.workflow import texts
from handlers.workflow.config import WorkflowConfig
from handlers.workflow.engine.flow import (ACTIVE, DONE, SKIPPED, WAITING, Step, as_step,
                                           finish, plan, to_activate)
from handlers.workflow.engine.model import Facts
from handlers.workflow.insertion import Insertion
from handlers.workflow.owners import owners_of, rule_label
from handlers.workflow.views import node_card, ticket_rows
from models.db import add_many
from models.keys import actor
from models.tickets import Staff, Ticket, TicketEvent
from models.workflow import WorkflowNode, nodes_of

log = logging.getLogger("handlers.workflow")


def facts_of(ticket: Ticket, *, amount: Any = None, tags: tuple[str, ...] = ()) -> Facts:
    custom = {c["key"]: c["value"] for c in (ticket.fields or {}).get("custom") or []}
    if amount is None and custom.get("refund_amount") not in (None, "无"):
        amount = custom["refund_amount"]
    return Facts(amount=amount, customer_tags=tags, fields=custom, priority=ticket.priority,
                 store=ticket.store)


class Flow(Insertion):
    """One event's work on ticket workflows."""

    def __init__(self, ctx: Context, cfg: WorkflowConfig) -> None:
        self.ctx, self.cfg, self.session = ctx, cfg, ctx.session
        self.now = ctx.clock.now()
        self.started: list[str] = []  # "周质检（质检）" of the nodes started by this event
        self.opened = False  # this event moved the ticket to 处理中

    def audit(self, ticket: Ticket, action: str, who: str, reason: str | None = None,
              after: dict[str, Any] | None = None) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, actor=who, action=action[:40],
                                     after=after, reason=reason, at=self.now))

    # -- creation -----------------------------------------------------------------------

    async def start(self, ticket: Ticket) -> None:
        """The ticket's nodes from its template (none: the lifecycle alone moves it)."""
        if await nodes_of(self.session, ticket.id):
            return  # handled before
        template = self.cfg.templates.get(ticket.template)
        if template is None or template.kind != ticket.category:  # the ticket's own kind
            template = self.cfg.template_for(ticket.category, ticket.description,
                                             any_kind=False)
        if template is None:
            return
        if ticket.template != template.key:
            ticket.template = template.key
        steps = plan(template, facts_of(ticket))
        # What the ticket's life already did is marked before the nodes are written (one
        # INSERT, no UPDATE after it). A ticket not yet resolved has no statement (nothing to
        # look up); one whose ticket_created event was parked and retried later may have.
        unbilled = ticket.resolved_at is None and ticket.closed_at is None
        # in the order nodes_of reads them: by stage, then as planned (ids follow the plan)
        done = await self.finished(ticket, sorted(steps, key=lambda s: s.stage),
                                   billed=False if unbilled else None)
        marks = {"status": DONE, "done_at": self.now, "done_by": "system"}
        nodes = await add_many(self.session, WorkflowNode, [
            dict(ticket_id=ticket.id, key=s.key, name=s.name, kind=s.kind, stage=s.stage,
                 owner_rule=s.owner_rule, actions=list(s.actions), approval_rule=s.approval,
                 created_at=self.now, **(marks if s.key in done else {}))
            for s in steps])
        self.audit(ticket, "workflow:start", "system", template.key,
                   {"template": template.key})
        await self.advance(ticket, sorted(nodes, key=lambda n: (n.stage, n.id)))  # as nodes_of

    # -- the ticket's life moves its mirrored nodes ----------------------------------------

    async def sync(self, ticket: Ticket) -> None:
        """Mark done the mirrored nodes whose moment has come (accepted, resolved, billed,
        closed) and start what follows them."""
        nodes = await nodes_of(self.session, ticket.id)
        if not nodes:
            return
        done = await self.finished(ticket, [as_step(n) for n in nodes])
        for n in nodes:
            if n.key in done:
                n.status, n.done_at, n.done_by = DONE, self.now, "system"
        await self.advance(ticket, nodes)

    async def finished(self, ticket: Ticket, steps: list[Step],
                       billed: bool | None = None) -> set[str]:
        """The keys of the mirrored steps whose moment has come (accepted, resolved …);
        ``billed``: whether the ticket has a statement, when the caller knows."""
        from models.settlement import latest_statement

        happened = ["created"]
        if ticket.accepted_at is not None:
            happened.append("accepted")
        if ticket.resolved_at is not None:
            happened.append("resolved")
        if ticket.closed_at is not None:
            happened.append("closed")
        if billed is None and any(s.kind == "settle" and s.status != DONE for s in steps):
            billed = await latest_statement(self.session, ticket.id) is not None
        if billed:
            happened.append("billed")
        return {s.key for what in happened for s in finish(steps, what)}

    async def advance(self, ticket: Ticket, nodes: list[WorkflowNode] | None = None) -> None:
        """Start the waiting nodes of the running stage (and on, while stages finish); the
        customer of a ticket nobody dispatches hears once who has it now."""
        nodes = nodes if nodes is not None else await nodes_of(self.session, ticket.id)
        self.started: list[str] = []
        for _ in range(len(nodes) + 1):
            starting = {s.key for s in to_activate([as_step(n) for n in nodes])}
            if not starting:
                break
            for n in nodes:
                if n.key in starting:
                    await self.activate(ticket, n)
            await self.session.flush()
        if self.started and not self.dispatched(ticket) and ticket.status == "in_progress":
            text = (texts.OPENED_FOR_CUSTOMER if self.opened else texts.NEXT_FOR_CUSTOMER)
            await notify.tell_customer(self.ctx, ticket, text.format(
                number=ticket.number, who="、".join(self.started)), progress=True)

    async def activate(self, ticket: Ticket, node: WorkflowNode) -> None:
        node.status, node.started_at = ACTIVE, self.now
        if node.kind == "task":
            owners, note = await owners_of(self.session, node.owner_rule, ticket, self.now)
            node.owners = owners  # (node.note is the owner's own 处理结果, shown to the customer)
            if note:
                log.warning("ticket %s node %s: %s", ticket.number, node.key, note)
            self.audit(ticket, "workflow:node_start", "system", node.name,
                       {"node": node.key, "owners": owners, **({"stand_in": note} if note
                                                               else {})})
            await self.tell_owners(ticket, node, owners, standin=bool(note))
            if not owners:  # nobody at all: the operators' log says so; nobody is promised
                log.error("ticket %s node %s: no owner found for %s and no dispatcher on "
                          "duty; import staff (docs/staff.md)", ticket.number, node.key,
                          node.owner_rule)
            else:
                names = "、".join([await self.name_of(u) for u in owners])
                self.started.append(f"{names}（{node.name}）")
                if ticket.status == "new" and not self.dispatched(ticket):
                    await transition(self.session, ticket, "in_progress", actor="system",
                                     reason=f"workflow: {node.name}", now=self.now)
                    self.opened = True
        elif node.kind == "approval":
            from handlers.workflow.approvals import Approvals

            await Approvals(self.ctx, self.cfg).for_node(ticket, node)
        elif node.kind == "close" and not self.dispatched(ticket):
            await self.close(ticket, node)
        elif node.kind == "intake":
            node.status, node.done_at, node.done_by = DONE, self.now, "system"

    def dispatched(self, ticket: Ticket) -> bool:
        from handlers.dispatch.config import OfferingConfig

        offering = self.ctx.services[OfferingConfig] if OfferingConfig in self.ctx.services \
            else None
        return bool(offering and offering.dispatched(ticket.category))

    async def close(self, ticket: Ticket, node: WorkflowNode) -> None:
        """Every node before the close node is done: the ticket is finished."""
        for to in ("resolved", "closed"):
            if can_transition(ticket, to):
                await transition(self.session, ticket, to, actor="system",
                                 reason="workflow complete", now=self.now)
        node.status, node.done_at, node.done_by = DONE, self.now, "system"
        if ticket.status == "closed":
            notes = [f"{n.name}：{n.note}" for n in await nodes_of(self.session, ticket.id)
                     if n.kind == "task" and n.note and n.status == DONE]
            group = notify.route_of(ticket) == "aibot_group"
            await notify.tell_customer(self.ctx, ticket, texts.CLOSED_FOR_CUSTOMER.format(
                number=ticket.number,
                result=texts.CLOSED_RESULT.format(notes="；".join(notes)) if notes else "",
                again=texts.AGAIN_GROUP if group else texts.AGAIN))

    async def name_of(self, userid: str) -> str:
        from models.ticketing import staff_by_userid

        s = await staff_by_userid(self.session, userid)
        return (s.name or s.userid) if s else userid

    async def tell_owners(self, ticket: Ticket, node: WorkflowNode, owners: list[str], *,
                          standin: bool = False) -> None:
        rows = ticket_rows(ticket, self.cfg)
        photos = await self.photos(ticket)
        for userid in owners:
            await self.session.flush()
            self.ctx.send_to(userid, card=node_card(node, ticket, rows))
            extra = "\n" + texts.NODE_STANDIN.format(rule=rule_label(node.owner_rule)) \
                if standin else ""
            if photos:
                extra += "\n" + texts.NODE_PHOTOS.format(n=len(photos), urls="\n".join(photos))
            self.ctx.send_to(userid, texts.NODE_TEXT.format(
                number=ticket.number, category=ticket_kind(ticket, self.cfg), node=node.name,
                rows="\n".join(f"{k}：{v}" for k, v in rows)) + extra)

    async def photos(self, ticket: Ticket) -> list[str]:
        """The customer's photos of this ticket (what 质检部 needs to see), at most six."""
        from sqlalchemy import select

        from models.tickets import Attachment

        rows = (await self.session.execute(select(Attachment.url).where(
            Attachment.ticket_id == ticket.id, Attachment.kind == "image",
            Attachment.url.is_not(None)).order_by(Attachment.id).limit(6))).scalars()
        return [u for u in rows if u]

    # -- owners' answers ------------------------------------------------------------------

    async def complete(self, ticket: Ticket, node: WorkflowNode, by: str, note: str = "") -> str:
        node.status, node.done_at, node.done_by = DONE, self.now, by
        if note:
            node.note = note[:500]
        self.audit(ticket, "workflow:node_done", actor("app", by), note or None,
                   {"node": node.key})
        nodes = await nodes_of(self.session, ticket.id)
        if ticket.status in ("closed", "cancelled"):
            return texts.NODE_DONE.format(number=ticket.number, node=node.name,
                                          next=texts.TICKET_ENDED.format(
                                              status=texts.ENDED_NAMES[ticket.status]))
        beside = [n.name for n in nodes if n.status == ACTIVE and n.stage == node.stage]
        await self.advance(ticket, nodes)
        started = list(self.started)
        if beside:
            nxt = texts.NODE_BESIDE.format(nodes="、".join(beside))
        elif started:
            nxt = texts.NODE_NEXT.format(nodes="、".join(started))
        else:
            nxt = texts.FLOW_COMPLETE if all(n.status == DONE for n in nodes) else ""
        return texts.NODE_DONE.format(number=ticket.number, node=node.name, next=nxt)

    async def cancelled(self, ticket: Ticket) -> None:
        """The ticket was cancelled: its open nodes are skipped and their owners told."""
        for n in await nodes_of(self.session, ticket.id):
            if n.status in (WAITING, ACTIVE):
                if n.status == ACTIVE and n.kind == "task":
                    for u in n.owners or []:
                        self.ctx.send_to(u, texts.NODE_CANCELLED.format(number=ticket.number,
                                                                        node=n.name))
                n.status = SKIPPED

    async def transfer(self, ticket: Ticket, node: WorkflowNode, by: Staff, to: Staff) -> str:
        node.owners = [to.userid if u == by.userid else u for u in node.owners or []]
        if to.userid not in node.owners:
            node.owners = [*node.owners, to.userid]
        self.audit(ticket, "workflow:node_transfer", actor("app", by.userid), to.userid,
                   {"node": node.key, "to": to.userid})
        self.ctx.send_to(to.userid, texts.NODE_TRANSFERRED_TO.format(
            who=by.name or by.userid, number=ticket.number, node=node.name))
        await self.tell_owners(ticket, node, [to.userid])
        return texts.NODE_TRANSFERRED.format(number=ticket.number, node=node.name,
                                             name=to.name or to.userid)

def ticket_kind(ticket: Ticket, cfg: WorkflowConfig) -> str:
    t = cfg.templates.get(ticket.template)
    return t.name if t else ticket.category


__all__ = ["Flow", "WAITING", "facts_of", "ticket_kind"]
