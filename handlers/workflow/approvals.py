"""Approvals by rule (config/workflow.yaml, a template's ``approvals``): a quote over ¥50,000 to
the 技术总监, a 集团采购 customer's quote through a special chain, an inserted 加急审批.

Steps run in order; a step's approvers are found by its owner rule; ``mode: any`` (或签) — the
first decision counts and the other approvers' cards say who decided; ``mode: all`` (会签) —
every one must agree. Each approver gets a card (同意 / 驳回:价格偏高 / 驳回:方案不合理 /
驳回:其他原因 / 转交 — WeCom cards take no free text [PROTOCOL.md §4], so 其他原因 asks for the
reason as the next message) and the same in words (同意 GD… / 驳回 GD… 原因), and is reminded
every ``remind_minutes`` while it waits (a durable timer). The applicant is told of each
decision; every step is audited.

``path: wecom`` rules are submitted to WeCom's own 审批 app instead (handlers/workflow/wecom.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from handlers.routing import Context
from handlers.workflow import texts
from handlers.workflow.config import WorkflowConfig
from handlers.workflow.engine.model import ApprovalRule, ApprovalStep
from handlers.workflow.owners import owners_of, rule_label
from handlers.workflow.views import approval_card, ticket_rows
from handlers.workflow.wecom import FINAL, SUBMIT, WITHDRAWN, apply_body
from models.conversation import expect, settle
from models.keys import (actor, app_conversation, approval_card_task, approval_timer,
                         ticket_conversation)
from models.ticketing import staff_by_userid
from models.tickets import Ticket, TicketEvent
from models.workflow import (APPROVED, DONE, PENDING, REJECTED, TRANSFERRED, VOID, Approval,
                             ApprovalTask, WorkflowNode, tasks_of)
from scheduler.timers import arm, cancel

log = logging.getLogger("handlers.workflow.approvals")
REMIND = "approval_remind"
OWNER, REASON = "workflow", "approval_reason"
MAX_REMINDERS = 3


class Approvals:
    def __init__(self, ctx: Context, cfg: WorkflowConfig) -> None:
        self.ctx, self.cfg, self.session = ctx, cfg, ctx.session
        self.now = ctx.clock.now()

    def rules(self, ticket: Ticket, keys: str) -> list[ApprovalRule]:
        t = self.cfg.templates.get(ticket.template)
        return [r for k in keys.split("+") if (r := self.cfg.approval_rule(t, k)) is not None]

    def steps(self, ticket: Ticket, approval: Approval) -> list[ApprovalStep]:
        return [s for r in self.rules(ticket, approval.rule) for s in r.steps]

    def audit(self, ticket: Ticket, action: str, who: str, reason: str | None,
              after: dict[str, Any]) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, actor=who, action=action, after=after,
                                     reason=reason, at=self.now))

    async def request(self, ticket: Ticket, rules: list[ApprovalRule], *, applicant: str,
                      summary: str, amount: str | None = None, quote_id: int | None = None,
                      node_id: int | None = None) -> tuple[Approval, list[str]]:
        """Open an approval of ``rules`` (their steps chained); the first approvers' userids."""
        a = Approval(ticket_id=ticket.id, node_id=node_id, quote_id=quote_id,
                     rule="+".join(r.key for r in rules)[:40],
                     name="、".join(r.name for r in rules)[:40], applicant=applicant,
                     summary=summary[:500], amount=amount, created_at=self.now)
        wecom = all(r.path == "wecom" for r in rules) and applicant != "system"
        a.path = "wecom" if wecom else "bot"
        self.session.add(a)
        await self.session.flush()
        self.audit(ticket, "approval:request", actor("app", applicant), summary[:200],
                   {"approval": a.id, "rule": a.rule, "amount": amount, "path": a.path})
        if wecom:  # submitted at once by a timer, outside this transaction (wecom.py)
            body = apply_body(rules[0], applicant=applicant, ticket_number=ticket.number,
                              summary=summary, amount=amount, now=self.now)
            await arm(self.session, f"approval_submit:{a.id}", self.now, SUBMIT,
                      payload={"approval_id": a.id, "body": body},
                      conversation_key=ticket_conversation(ticket.id), now=self.now)
            return a, []
        return a, await self.open_step(ticket, a)

    async def submitted(self, ticket: Ticket, a: Approval, outcome: dict[str, Any]) -> None:
        """``oa/applyevent`` answered: the form's number, or the bot's cards take over."""
        if outcome.get("sp_no"):
            a.sp_no, a.submit_state = outcome["sp_no"], "submitted"
            self.audit(ticket, "approval:wecom_submitted", "system", None,
                       {"approval": a.id, "sp_no": a.sp_no})
            self.tell_applicant(a, texts.APPROVAL_WECOM_SENT.format(sp_no=a.sp_no))
            return
        a.submit_state, a.path = "failed", "bot"
        self.audit(ticket, "approval:wecom_failed", "system", outcome.get("error"),
                   {"approval": a.id})
        self.tell_applicant(a, texts.APPROVAL_WECOM_FAILED)
        await self.open_step(ticket, a)

    async def from_wecom(self, info: dict[str, Any]) -> None:
        """A ``sys_approval_change`` callback: a final status ends the approval."""
        from sqlalchemy import select

        a = (await self.session.execute(select(Approval).where(
            Approval.sp_no == info.get("sp_no")))).scalar_one_or_none()
        if a is None:
            log.info("sys_approval_change for an unknown form %s (not ours)", info.get("sp_no"))
            return
        ticket = await self.session.get(Ticket, a.ticket_id)
        status = str(info.get("status") or "")
        who = info.get("approver") or "wecom"
        self.audit(ticket, "approval:wecom_change", actor("app", who), info.get("speech") or None,
                   {"approval": a.id, "sp_status": status, "change": info.get("change")})
        if a.status != PENDING or status not in FINAL:
            return
        reason = info.get("speech") or WITHDRAWN.get(status, "")
        await self.conclude(ticket, a, FINAL[status] == "approved", await self.name(who),
                            reason)

    async def conclude(self, ticket: Ticket, a: Approval, approved: bool, who: str,
                       reason: str = "") -> None:
        """The approval's final outcome: the applicant is told and its quote or node goes on."""
        a.decided_at = self.now
        if approved:
            a.status = APPROVED
            self.tell_applicant(a, texts.APPROVAL_GRANTED.format(
                name=a.name, number=ticket.number, who=who), final=True)
        else:
            a.status, a.reason = REJECTED, reason or "未说明"
            self.tell_applicant(a, texts.APPROVAL_REJECTED.format(
                name=a.name, number=ticket.number, who=who, reason=a.reason), final=True)
        await self.finished(ticket, a, who)

    async def for_node(self, ticket: Ticket, node: WorkflowNode) -> None:
        rules = self.rules(ticket, node.approval_rule or "")
        if not rules:
            node.status, node.note = DONE, "no such approval rule"
            return
        _, approvers = await self.request(
            ticket, rules, applicant=node.inserted_by or "system", node_id=node.id,
            summary=f"{node.name}：{ticket.title or ticket.description[:40]}")
        node.owners = approvers

    async def open_step(self, ticket: Ticket, a: Approval) -> list[str]:
        steps = self.steps(ticket, a)
        step = steps[a.step]
        people, note = await owners_of(self.session, step.approvers.describe(), ticket, self.now)
        remind = min(r.remind_minutes for r in self.rules(ticket, a.rule))
        for userid in people:
            task = ApprovalTask(approval_id=a.id, step=a.step, userid=userid,
                                created_at=self.now)
            self.session.add(task)
            await self.session.flush()
            await self.send_card(ticket, a, task, texts.APPROVAL_STANDIN.format(
                rule=rule_label(step.approvers.describe())) if note else "")
            await arm(self.session, approval_timer(task.id), self.now + timedelta(
                minutes=remind), REMIND, payload={"task_id": task.id, "minutes": remind},
                conversation_key=ticket_conversation(ticket.id), now=self.now)
        return people

    async def send_card(self, ticket: Ticket, a: Approval, task: ApprovalTask,
                        note: str = "") -> None:
        applicant = await self.name(a.applicant)
        rows = [("金额", f"¥{a.amount}")] if a.amount else []
        rows += ticket_rows(ticket, self.cfg)
        self.ctx.send_to(task.userid, card=approval_card(
            task, title=texts.APPROVAL_TITLE.format(name=a.name, number=ticket.number),
            rows=rows, desc=a.summary.splitlines()[0][:44] if a.summary else ""))
        self.ctx.send_to(task.userid, texts.APPROVAL_TEXT.format(
            name=a.name, number=ticket.number, summary=a.summary, applicant=applicant)
            + (f"\n{note}" if note else ""))

    async def name(self, userid: str) -> str:
        if userid == "system":
            return texts.SYSTEM_APPLICANT
        s = await staff_by_userid(self.session, userid)
        return (s.name or s.userid) if s else userid

    # -- decisions ---------------------------------------------------------------------------

    async def decide(self, ticket: Ticket, task: ApprovalTask, verdict: str, by: str,
                     reason: str = "") -> str:
        """``approved`` or ``rejected`` by ``by`` (the task's approver); what to tell them."""
        a = await self.session.get(Approval, task.approval_id)
        task.status, task.decided_at, task.reason = verdict, self.now, reason or None
        await cancel(self.session, approval_timer(task.id), now=self.now)
        await settle(self.session, owner=OWNER, kind=REASON, ref=task.id)
        who = await self.name(by)
        self.audit(ticket, f"approval:{verdict}", actor("app", by), reason or None,
                   {"approval": a.id, "step": task.step})
        steps = self.steps(ticket, a)
        mode = steps[task.step].mode if task.step < len(steps) else "any"
        others = [t for t in await tasks_of(self.session, a.id, task.step)
                  if t.id != task.id and t.status == PENDING]
        verb = "同意" if verdict == APPROVED else "驳回"
        if verdict == REJECTED or mode == "any":
            for t in others:
                t.status = VOID
                await cancel(self.session, approval_timer(t.id), now=self.now)
                await self.ctx.update_card(texts.APPROVAL_DONE_BY_OTHER.format(who=who),
                                           task_id=approval_card_task(t.id), user=t.userid)
        if verdict == REJECTED:
            await self.conclude(ticket, a, False, who, reason)
        elif mode == "all" and others:
            pass  # the step waits for the other approvers
        elif a.step + 1 < len(steps):
            a.step += 1
            nxt = await self.open_step(ticket, a)
            self.tell_applicant(a, texts.APPROVAL_STEP_PASSED.format(
                name=a.name, number=ticket.number, who=who,
                next="、".join([await self.name(u) for u in nxt])))
        else:
            await self.conclude(ticket, a, True, who)
        return texts.APPROVAL_RECORDED.format(verb=verb, name=a.name, number=ticket.number)

    def tell_applicant(self, a: Approval, text: str, *, final: bool = False) -> None:
        """``final``: the outcome — for a quote its author hears it from the quote (one
        message, quotes.py), not twice."""
        if final and a.quote_id:
            return
        if a.applicant and a.applicant != "system":
            self.ctx.send_to(a.applicant, text)

    async def finished(self, ticket: Ticket, a: Approval, who: str = "审批人") -> None:
        """An approval ended: its quote or its node moves on."""
        if a.quote_id:
            from handlers.workflow.quotes import Quotes

            await Quotes(self.ctx, self.cfg).approval_ended(ticket, a, who)
        if a.node_id:
            from handlers.lifecycle import change
            from handlers.workflow.nodes import Flow

            node = await self.session.get(WorkflowNode, a.node_id)
            item = next((i for i in self.cfg.insertable.values()
                         if i.node.approval == node.approval_rule), None)
            if a.status == APPROVED and item is not None and item.priority \
                    and ticket.priority != item.priority:
                await change(self.session, ticket, actor="system", action="priority",
                             now=self.now, reason=a.name, priority=item.priority)
            node.note = "已同意" if a.status == APPROVED else f"已驳回：{a.reason}"
            await Flow(self.ctx, self.cfg).complete(ticket, node, "system", node.note)

    async def ask_reason(self, ticket: Ticket, task: ApprovalTask) -> str:
        await expect(self.session, person=task.userid, owner=OWNER, kind=REASON, ref=task.id,
                     now=self.now, expires_at=self.now + timedelta(hours=24),
                     conversation_key=app_conversation(task.userid))
        return texts.APPROVAL_REASON_ASK.format(number=ticket.number)

    async def transfer(self, ticket: Ticket, task: ApprovalTask, to_userid: str, by: str) -> str:
        a = await self.session.get(Approval, task.approval_id)
        task.status, task.transferred_to, task.decided_at = TRANSFERRED, to_userid, self.now
        await cancel(self.session, approval_timer(task.id), now=self.now)
        new = ApprovalTask(approval_id=a.id, step=task.step, userid=to_userid,
                           created_at=self.now)
        self.session.add(new)
        await self.session.flush()
        self.audit(ticket, "approval:transfer", actor("app", by), None,
                   {"approval": a.id, "to": to_userid})
        await self.send_card(ticket, a, new, f"（{await self.name(by)}转交给您）")
        return texts.NODE_TRANSFERRED.format(number=ticket.number, node=a.name,
                                             name=await self.name(to_userid))

    async def remind(self, task: ApprovalTask, minutes: int) -> None:
        if task.status != PENDING or task.reminded >= MAX_REMINDERS:
            return
        a = await self.session.get(Approval, task.approval_id)
        ticket = await self.session.get(Ticket, a.ticket_id)
        task.reminded += 1
        waited = int((self.now - task.created_at).total_seconds() // 60)
        self.ctx.send_to(task.userid, texts.APPROVAL_REMIND.format(
            name=a.name, number=ticket.number, minutes=waited))
        if task.reminded < MAX_REMINDERS:
            await arm(self.session, approval_timer(task.id),
                      self.now + timedelta(minutes=minutes), REMIND,
                      payload={"task_id": task.id, "minutes": minutes},
                      conversation_key=ticket_conversation(ticket.id), now=self.now)


async def pending_task(session: Any, ticket_id: int, userid: str) -> ApprovalTask | None:
    from sqlalchemy import select

    return (await session.execute(
        select(ApprovalTask).join(Approval, Approval.id == ApprovalTask.approval_id)
        .where(Approval.ticket_id == ticket_id, Approval.status == PENDING,
               ApprovalTask.userid == userid, ApprovalTask.status == PENDING)
        .order_by(ApprovalTask.id.desc()).limit(1))).scalar_one_or_none()
