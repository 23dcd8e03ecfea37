"""Workflow: templates, nodes, approvals and quotes (config/templates/, config/workflow.yaml).

* ``ticket_created`` → the ticket's nodes from its template; every task node's owners are told at
  once (card 完成 / 转交, and the same in words). ``ticket_resolved`` / ``ticket_closed`` move the
  nodes that follow the ticket's life.
* Clicks: ``flow:`` (a node), ``approval:`` (an approver), ``quote:`` (the customer).
* Words: 完成 / 转交 GD… (owners), 加质检 GD… (supervisors), 同意 / 驳回 GD… (approvers), 报价 GD…
  (technician, dispatcher), 记录 GD… (staff), 接受报价 / 拒绝报价 (the customer), and the reason
  an approver types after 驳回:其他原因.
* ``approval_remind`` timers remind approvers.

Anything that is not for the workflow passes on (``SkipHandler``) to the next router.
"""

from __future__ import annotations

from typing import Any

from bot.cards import ButtonKey
from handlers.dispatch.base import DISPATCHERS
from handlers.intake.base import sender_customer
from handlers.routing import Context, Router, SkipHandler
from handlers.understanding import Turn
from handlers.workflow import texts
from handlers.workflow.approvals import OWNER, REASON, REMIND, Approvals, pending_task
from handlers.workflow.config import WorkflowConfig
from handlers.workflow.nodes import Flow
from handlers.workflow.quotes import Quotes, open_quote_for
from handlers.workflow.trail import trail_text
from handlers.workflow.views import APPROVAL_ACTIONS, NODE_ACTIONS, QUOTE_ACTIONS
from handlers.workflow.wecom import SUBMIT, prepare_submit
from models.conversation import expected
from models.keys import actor, approval_card_task, node_task
from models.ticketing import (OPEN_STATUSES, staff_by_userid, staff_called, ticket_by_number,
                              tickets_of)
from models.tickets import Staff, Ticket
from models.workflow import ACTIVE, PENDING, ApprovalTask, Quote, WorkflowNode, nodes_of
from nlp.workflow_commands import CUSTOMER_KINDS, FlowCommand

router = Router("workflow")


# -- the ticket's life --------------------------------------------------------------------------


@router.event("ticket_created", channel="internal")
async def on_created(ctx: Context, cfg: WorkflowConfig) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    if ticket is not None:
        await Flow(ctx, cfg).start(ticket)


@router.event(("ticket_resolved", "ticket_closed", "ticket_cancelled"), channel="internal")
async def on_changed(ctx: Context, cfg: WorkflowConfig) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    if ticket is not None and ticket.status == "cancelled":
        await Flow(ctx, cfg).cancelled(ticket)
    elif ticket is not None:
        await Flow(ctx, cfg).sync(ticket)


@router.timer(SUBMIT, prepare=prepare_submit)
async def on_submit(ctx: Context, data: dict[str, Any], cfg: WorkflowConfig,
                    outcome: dict[str, Any] | None = None) -> None:
    """oa/applyevent answered (prepare_submit called it, outside this transaction)."""
    from models.workflow import Approval

    a = await ctx.session.get(Approval, data.get("approval_id"))
    if a is None or outcome is None or a.submit_state not in ("", "submitting"):
        return
    await Approvals(ctx, cfg).submitted(await ctx.session.get(Ticket, a.ticket_id), a, outcome)


@router.event("sys_approval_change", channel="app")
async def on_wecom_approval(ctx: Context, cfg: WorkflowConfig) -> None:
    await Approvals(ctx, cfg).from_wecom(ctx.event.payload.get("approval") or {})


@router.timer(REMIND)
async def on_remind(ctx: Context, data: dict[str, Any], cfg: WorkflowConfig) -> None:
    task = await ctx.session.get(ApprovalTask, data.get("task_id"))
    if task is not None:
        await Approvals(ctx, cfg).remind(task, int(data.get("minutes") or 60))


# -- clicks -------------------------------------------------------------------------------------


@router.card(prefix="flow:")
async def on_node_card(ctx: Context, key: str, cfg: WorkflowConfig) -> None:
    k = ButtonKey.parse("flow", key, NODE_ACTIONS)
    node = await ctx.session.get(WorkflowNode, k.ref) if k else None
    ticket = await ctx.session.get(Ticket, node.ticket_id) if node else None
    if k is None or node is None or ticket is None:
        ctx.reply(texts.NODE_NOT_YOURS.format(number=""))
        return
    if node.status != ACTIVE or ctx.event.sender not in (node.owners or []):
        await ctx.update_card(texts.NODE_NOT_YOURS.format(number=ticket.number))
        return
    if k.action == "done":
        said = await Flow(ctx, cfg).complete(ticket, node, ctx.event.sender)
        await ctx.update_card(texts.NODE_DONE_BY_CARD.format(node=node.name), fallback=said)
        ctx.send_to(ctx.event.sender, said)
    else:
        ctx.send_to(ctx.event.sender, texts.TRANSFER_HOW.format(number=ticket.number))


@router.card(prefix="approval:")
async def on_approval_card(ctx: Context, key: str, cfg: WorkflowConfig) -> None:
    k = ButtonKey.parse("approval", key, APPROVAL_ACTIONS)
    task = await ctx.session.get(ApprovalTask, k.ref) if k else None
    if k is None or task is None or task.userid != ctx.event.sender:
        ctx.reply(texts.APPROVAL_NOT_YOURS.format(number=""))
        return
    from models.workflow import Approval

    a = await ctx.session.get(Approval, task.approval_id)
    ticket = await ctx.session.get(Ticket, a.ticket_id)
    if task.status != PENDING:
        await ctx.update_card(texts.APPROVAL_NOT_YOURS.format(number=ticket.number))
        return
    ap = Approvals(ctx, cfg)
    if k.action == "approve":
        said = await ap.decide(ticket, task, "approved", ctx.event.sender)
        await ctx.update_card(texts.APPROVAL_APPROVED_LABEL, fallback=said)
    elif k.action in texts.CANNED_REASONS:
        reason = texts.CANNED_REASONS[k.action]
        said = await ap.decide(ticket, task, "rejected", ctx.event.sender, reason)
        await ctx.update_card(texts.APPROVAL_REJECTED_LABEL.format(reason=reason), fallback=said)
    elif k.action == "reject_other":
        ctx.send_to(ctx.event.sender, await ap.ask_reason(ticket, task))
    else:
        ctx.send_to(ctx.event.sender, texts.TRANSFER_HOW.format(number=ticket.number))


@router.card(prefix="quote:")
async def on_quote_card(ctx: Context, key: str, cfg: WorkflowConfig) -> None:
    k = ButtonKey.parse("quote", key, QUOTE_ACTIONS)
    q = await ctx.session.get(Quote, k.ref) if k else None
    ticket = await ctx.session.get(Ticket, q.ticket_id) if q else None
    if k is None or q is None or ticket is None or ticket.reporter != ctx.event.sender:
        ctx.reply(texts.QUOTE_NONE_OPEN)
        return
    if q.status != "sent":
        await ctx.update_card(texts.QUOTE_HANDLED_LABEL)
        return
    said = await Quotes(ctx, cfg).answer(ticket, q, k.action == "accept",
                                         actor(ctx.event.channel, ctx.event.sender))
    await ctx.update_card(texts.QUOTE_ANSWER_LABELS[k.action], fallback=said)
    ctx.send_to(ctx.event.sender, said)


# -- words --------------------------------------------------------------------------------------


def _flow(e: Any, turn: Turn | None) -> dict[str, Any] | None:
    return {"cmd": turn.flow} if turn is not None and turn.flow is not None else None


def _app_text(e: Any, turn: Turn | None) -> bool:
    return e.channel == "app" and turn is not None and turn.flow is None and bool(turn.text)


@router.message(msgtype=("text", "mixed"), when=_flow)
async def on_flow_command(ctx: Context, cmd: FlowCommand, cfg: WorkflowConfig) -> None:
    if cmd.kind in CUSTOMER_KINDS:
        await customer_answer(ctx, cmd, cfg)
        return
    me = await staff_by_userid(ctx.session, ctx.event.sender) if ctx.event.channel == "app" \
        else None
    if me is None:
        raise SkipHandler
    ticket = await ticket_by_number(ctx.session, cmd.ticket) if cmd.ticket else None
    if cmd.ticket and ticket is None:
        ctx.reply(texts.NO_TICKET.format(number=cmd.ticket))
        return
    if cmd.kind == "quote":
        await quote_command(ctx, cmd, cfg, me, ticket)
        return
    if cmd.kind == "done" and not await _owns_a_step(ctx, ticket, me):
        raise SkipHandler  # "完成 GD…" from the job's technician is dispatch's 完工
    flow = Flow(ctx, cfg)
    await flow.sync(ticket)
    if cmd.kind == "trail":
        ctx.reply(await trail_text(ctx.session, ticket, cfg))
    elif cmd.kind == "insert":
        if not set(me.roles or []) & set(cfg.inserters):
            ctx.reply(texts.NOT_ALLOWED_INSERT)
            return
        if ticket.status in ("closed", "cancelled"):
            ctx.reply(texts.INSERT_CLOSED.format(number=ticket.number,
                                                 status=texts.ENDED_NAMES[ticket.status]))
            return
        ctx.reply(await flow.insert(ticket, cmd.word, me))
    elif cmd.kind in ("approve", "reject"):
        task = await pending_task(ctx.session, ticket.id, me.userid)
        if task is None:
            ctx.reply(texts.APPROVAL_NOT_YOURS.format(number=ticket.number))
            return
        if cmd.kind == "reject" and not cmd.rest:
            ctx.reply(await Approvals(ctx, cfg).ask_reason(ticket, task))
            return
        ctx.reply(await Approvals(ctx, cfg).decide(
            ticket, task, "approved" if cmd.kind == "approve" else "rejected", me.userid,
            cmd.rest))
        await ctx.update_card(texts.APPROVAL_APPROVED_LABEL if cmd.kind == "approve" else
                              texts.APPROVAL_REJECTED_LABEL.format(reason=cmd.rest),
                              task_id=approval_card_task(task.id), user=me.userid)
    elif cmd.kind in ("done", "transfer"):
        await owner_command(ctx, cmd, cfg, me, ticket, flow)


async def _owns_a_step(ctx: Context, ticket: Ticket, me: Staff) -> bool:
    return any(n.kind == "task" and n.status in ("waiting", ACTIVE) and me.userid in (n.owners or [])
               for n in await nodes_of(ctx.session, ticket.id))


async def owner_command(ctx: Context, cmd: FlowCommand, cfg: WorkflowConfig, me: Staff,
                        ticket: Ticket, flow: Flow) -> None:
    nodes = [n for n in await nodes_of(ctx.session, ticket.id)
             if n.status == ACTIVE and n.kind == "task" and me.userid in (n.owners or [])]
    task = await pending_task(ctx.session, ticket.id, me.userid) if cmd.kind == "transfer" \
        else None
    if not nodes and task is None:
        ctx.reply(texts.NODE_NOT_YOURS.format(number=ticket.number))
        return
    if cmd.kind == "done":
        ctx.reply(await flow.complete(ticket, nodes[0], me.userid, cmd.rest))
        await ctx.update_card(texts.NODE_DONE_BY_CARD.format(node=nodes[0].name),
                              task_id=node_task(nodes[0].id), user=me.userid)
        return
    to = await staff_named(ctx, cmd.rest)
    if to is None:
        ctx.reply(texts.NO_SUCH_PERSON.format(name=cmd.rest, number=ticket.number))
        return
    if task is not None:
        ctx.reply(await Approvals(ctx, cfg).transfer(ticket, task, to.userid, me.userid))
    else:
        ctx.reply(await flow.transfer(ticket, nodes[0], me, to))


async def staff_named(ctx: Context, name: str) -> Staff | None:
    return next(iter(await staff_called(ctx.session, name.split()[0] if name else "")), None)


async def quote_command(ctx: Context, cmd: FlowCommand, cfg: WorkflowConfig, me: Staff,
                        ticket: Ticket | None) -> None:
    if ticket is None:
        mine = await _my_open_job(ctx, me)
        if mine is None:
            ctx.reply(texts.QUOTE_NO_TICKET)
            return
        ticket = mine
    if ticket.assignee != me.userid and not set(me.roles or []) & set(DISPATCHERS):
        ctx.reply(texts.QUOTE_NOT_ALLOWED.format(number=ticket.number))
        return
    if ticket.status in ("resolved", "closed", "cancelled"):
        ctx.reply(texts.QUOTE_CLOSED.format(number=ticket.number,
                                            status=texts.ENDED_NAMES[ticket.status]))
        return
    ctx.reply(await Quotes(ctx, cfg).make(ticket, me.userid, cmd.rest))


async def _my_open_job(ctx: Context, me: Staff) -> Ticket | None:
    from sqlalchemy import select

    rows = list((await ctx.session.execute(select(Ticket).where(
        Ticket.assignee == me.userid, Ticket.status.in_(("accepted", "in_progress"))))).scalars())
    return rows[0] if len(rows) == 1 else None


async def customer_answer(ctx: Context, cmd: FlowCommand, cfg: WorkflowConfig) -> None:
    customer = await sender_customer(ctx)
    tickets = await tickets_of(ctx.session, customer.id, OPEN_STATUSES)
    if cmd.ticket:
        tickets = [t for t in tickets if t.number == cmd.ticket]
    found = await open_quote_for(ctx.session, tickets)
    if found is None:
        if "报价" in (ctx.turn.text if ctx.turn else ""):
            ctx.reply(texts.QUOTE_NONE_OPEN)
            return
        raise SkipHandler  # a bare 接受 / 不接受 is someone else's
    ticket, q = found
    ctx.reply(await Quotes(ctx, cfg).answer(ticket, q, cmd.kind == "accept_quote",
                                            actor(ctx.event.channel, ctx.event.sender),
                                            cmd.rest))


@router.message(msgtype="text", when=_app_text)
async def on_reason(ctx: Context, cfg: WorkflowConfig) -> None:
    """The reason an approver types after 驳回:其他原因."""
    waiting = await expected(ctx.session, ctx.event.sender, ctx.clock.now(), owner=OWNER,
                             kind=REASON)
    task = await ctx.session.get(ApprovalTask, waiting[0].ref) if waiting else None
    if task is None or task.status != PENDING:
        raise SkipHandler
    from models.workflow import Approval

    a = await ctx.session.get(Approval, task.approval_id)
    ticket = await ctx.session.get(Ticket, a.ticket_id)
    reason = ctx.turn.text[:200]
    ctx.reply(await Approvals(ctx, cfg).decide(ticket, task, "rejected", ctx.event.sender,
                                               reason))
    await ctx.update_card(texts.APPROVAL_REJECTED_LABEL.format(reason=reason[:20]),
                          task_id=approval_card_task(task.id), user=ctx.event.sender)
