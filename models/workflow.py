"""The workflow of each ticket (handlers/workflow/): its nodes, approvals and quotes.

* ``WorkflowNode`` — one step of one ticket's flow, made from its template when the ticket is
  created (or inserted later: ``加质检 GD…``). Nodes of one ``stage`` run side by side; the next
  stage starts when every node of the current one is done. ``kind`` says who moves it: the
  ticket's lifecycle (``dispatch`` done when a technician accepts, ``visit`` at 完工, ``close``
  when the ticket closes), settlement (``settle`` when the statement is issued), its owners
  (``task``: 完成 / 转交 on a card or in chat) or its approval (``approval``).
* ``Approval`` — a request for approval by a rule of the template (an amount, a customer tag, a
  field), with ``ApprovalTask``\\ s: one per approver of the current step (any-of: the first
  decision counts; all-of: every one must agree). ``path`` is ``bot`` (our cards) or ``wecom``
  (WeCom's own 审批 app: ``sp_no`` is its form number and its callbacks move it).
* ``Quote`` — a priced offer (报价单) to the customer; versions of one ticket's quote are rows
  with increasing ``version``; the one accepted is what the statement bills.

Money is kept as decimal text (``"3800.00"``), as in settlement. Every change is also written to
the ticket's audit trail (``ticket_event``) by the feature that makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from models.tickets import _at, _fk, _pk
from models.types import new_dict, new_list

# node status
WAITING, ACTIVE, DONE, SKIPPED = "waiting", "active", "done", "skipped"
OPEN_NODE = (WAITING, ACTIVE)
# approval and task status
PENDING, APPROVED, REJECTED, TRANSFERRED, VOID = (
    "pending", "approved", "rejected", "transferred", "void")
# quote status
Q_APPROVAL, Q_REJECTED, Q_SENT, Q_ACCEPTED, Q_DECLINED, Q_SUPERSEDED = (
    "approval", "rejected", "sent", "accepted", "declined", "superseded")
Q_OPEN = (Q_APPROVAL, Q_SENT)


class WorkflowNode(SQLModel, table=True):
    __tablename__ = "workflow_node"
    __table_args__ = (UniqueConstraint("ticket_id", "key", name="uq_node_ticket_key"),
                      Index("ix_node_ticket_stage", "ticket_id", "stage"))

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", index=False, nullable=False)
    key: str = Field(max_length=48)
    name: str = Field(max_length=24)
    kind: str = Field(max_length=12)
    stage: int
    status: str = Field(default=WAITING, max_length=10)
    owners: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    owner_rule: str = Field(default="", max_length=80)
    actions: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    approval_rule: str | None = Field(default=None, max_length=40)
    inserted_by: str | None = Field(default=None, max_length=128)  # None: from the template
    started_at: datetime | None = _at(nullable=True)
    done_at: datetime | None = _at(nullable=True)
    done_by: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_ticket", "ticket_id", "status"),)

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", index=False, nullable=False)
    node_id: int | None = _fk("workflow_node.id", index=False)
    quote_id: int | None = _fk("quote.id", index=False)
    rule: str = Field(max_length=40)
    name: str = Field(max_length=40)
    path: str = Field(default="bot", max_length=8)  # bot | wecom
    status: str = Field(default=PENDING, max_length=12)
    step: int = 0  # the current step (index into the rule's steps)
    applicant: str = Field(max_length=128)
    summary: str = Field(default="", max_length=500)
    amount: str | None = Field(default=None, max_length=32)
    sp_no: str | None = Field(default=None, max_length=64, unique=True)  # path wecom
    #: path wecom: "" → "submitting" (claimed before oa/applyevent: never submitted twice) →
    #: "submitted" (sp_no known) | "failed" (the bot's cards took over)
    submit_state: str = Field(default="", max_length=12)
    reason: str | None = Field(default=None, max_length=500)  # of the final decision
    created_at: datetime = _at()
    decided_at: datetime | None = _at(nullable=True)


class ApprovalTask(SQLModel, table=True):
    """One approver's part in one step: their card and their decision."""

    __tablename__ = "approval_task"
    __table_args__ = (Index("ix_approval_task_who", "userid", "status"),)

    id: int | None = _pk()
    approval_id: int = _fk("approval.id", nullable=False)
    step: int
    userid: str = Field(max_length=128)
    status: str = Field(default=PENDING, max_length=12)
    reason: str | None = Field(default=None, max_length=500)
    transferred_to: str | None = Field(default=None, max_length=128)
    reminded: int = 0
    created_at: datetime = _at()
    decided_at: datetime | None = _at(nullable=True)


class Quote(SQLModel, table=True):
    __tablename__ = "quote"
    __table_args__ = (UniqueConstraint("ticket_id", "version", name="uq_quote_ticket_version"),)

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", index=False, nullable=False)
    version: int = 1
    author: str = Field(max_length=128)
    text: str = Field(default="", max_length=1000)  # what they wrote
    lines: list[dict[str, Any]] = Field(default_factory=new_list,
                                        sa_column=Column(JSON, nullable=False))
    #: what the statement bills when the quote is accepted: labour_minutes and parts (the
    #: work report's shape)
    basis: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    subtotal: str = Field(max_length=32)
    discount: str = Field(default="0.00", max_length=32)
    discount_label: str = Field(default="", max_length=60)
    tax: str = Field(default="0.00", max_length=32)
    total: str = Field(max_length=32)
    status: str = Field(default=Q_SENT, max_length=12)
    reason: str | None = Field(default=None, max_length=500)  # of a rejection or a decline
    created_at: datetime = _at()
    sent_at: datetime | None = _at(nullable=True)
    answered_at: datetime | None = _at(nullable=True)


# -- small queries ------------------------------------------------------------------------------


_NODES = select(WorkflowNode).where(WorkflowNode.ticket_id == bindparam("ticket_id")).order_by(
    WorkflowNode.stage, WorkflowNode.id)  # built once (models.db.built_once says why)


async def nodes_of(session: AsyncSession, ticket_id: int) -> list[WorkflowNode]:
    return list((await session.execute(_NODES, {"ticket_id": ticket_id})).scalars())


async def tasks_of(session: AsyncSession, approval_id: int,
                   step: int | None = None) -> list[ApprovalTask]:
    stmt = select(ApprovalTask).where(ApprovalTask.approval_id == approval_id)
    if step is not None:
        stmt = stmt.where(ApprovalTask.step == step)
    return list((await session.execute(stmt.order_by(ApprovalTask.id))).scalars())


async def open_approvals(session: AsyncSession, ticket_id: int) -> list[Approval]:
    return list((await session.execute(select(Approval).where(
        Approval.ticket_id == ticket_id, Approval.status == PENDING)
        .order_by(Approval.id))).scalars())


async def quotes_of(session: AsyncSession, ticket_id: int) -> list[Quote]:
    return list((await session.execute(select(Quote).where(Quote.ticket_id == ticket_id)
                                        .order_by(Quote.version))).scalars())


async def next_quote_version(session: AsyncSession, ticket_id: int) -> int:
    return ((await session.execute(select(func.max(Quote.version)).where(
        Quote.ticket_id == ticket_id))).scalar_one_or_none() or 0) + 1


async def accepted_quote(session: AsyncSession, ticket_id: int) -> Quote | None:
    """The quote the customer accepted (the newest, if ever several): what the bill is."""
    return (await session.execute(select(Quote).where(
        Quote.ticket_id == ticket_id, Quote.status == Q_ACCEPTED)
        .order_by(Quote.version.desc()).limit(1))).scalar_one_or_none()
