"""Live node insertion (``加质检 GD…`` / ``加急审批 GD…``), part of ``Flow`` (nodes.py): the node
goes right after the running step — at once, beside the job, when the running step is the
technician's — inherits the ticket, its owner is told, and so is the technician. Audited."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.workflow import texts
from handlers.workflow.engine.flow import (ACTIVE, DONE, MIRRORED, WAITING, Step, as_step,
                                           insertion_stage, unique_key)
from handlers.workflow.engine.model import NodeDef
from models.keys import actor
from models.tickets import Staff, Ticket
from models.workflow import WorkflowNode, nodes_of


class Insertion:
    """Mixed into ``Flow``: uses its ``cfg``, ``session``, ``now``, ``ctx``, ``audit``,
    ``advance`` and ``name_of``."""

    cfg: Any
    session: Any
    now: Any
    ctx: Any

    async def insert(self, ticket: Ticket, word: str, by: Staff) -> str:
        item = self.cfg.insertable.get(word)
        if item is None:
            return texts.INSERT_UNKNOWN.format(word=word, number=ticket.number,
                                               known="、".join(f"加{w}" for w in self.cfg.insertable))
        nodes = await nodes_of(self.session, ticket.id)
        steps = [as_step(n) for n in nodes]
        stage, moved = insertion_stage(steps)
        later = {s.key: s.stage for s in moved}
        for n in nodes:
            if n.key in later:
                n.stage = later[n.key]
        running = [n.name for n in nodes if n.status == ACTIVE] or [
            n.name for n in nodes if n.status == DONE][-1:]
        d: NodeDef = item.node
        s = replace(Step(d.key, d.name, d.kind, stage), key=unique_key(steps, d.key))
        node = WorkflowNode(ticket_id=ticket.id, key=s.key, name=d.name, kind=d.kind,
                            stage=stage, owner_rule=d.owner.describe() if d.owner else "",
                            actions=list(d.actions) if d.kind == "task" else [],
                            approval_rule=d.approval, inserted_by=by.userid,
                            created_at=self.now)
        self.session.add(node)
        await self.session.flush()
        self.audit(ticket, "workflow:node_insert", actor("app", by.userid), d.name,
                   {"node": node.key, "stage": stage, "after": running})
        nodes = await nodes_of(self.session, ticket.id)
        # A node inserted while the running stage's nodes are all mirrored (派单 done, 上门
        # waiting on the technician) starts at once: the job goes on beside it.
        if all(n.kind in MIRRORED for n in nodes if n.status == ACTIVE):
            node.stage = min((n.stage for n in nodes if n.status in (ACTIVE, WAITING)),
                             default=stage)
        await self.advance(ticket, nodes)
        who = "、".join([await self.name_of(u) for u in node.owners or []]) or "审批人"
        if node.kind == "approval":
            from models.workflow import open_approvals

            pend = [a for a in await open_approvals(self.session, ticket.id)
                    if a.node_id == node.id]
            who = "审批人" if not pend else who
        if ticket.assignee and ticket.status not in ("resolved", "closed"):
            self.ctx.send_to(ticket.assignee, texts.INSERTED_TO_TECHNICIAN.format(
                number=ticket.number, node=d.name, owners=who))
        template = texts.INSERTED_NOW if node.status == ACTIVE else texts.INSERTED
        return template.format(number=ticket.number, after="、".join(running) or "受理",
                               node=d.name, owners=who)
