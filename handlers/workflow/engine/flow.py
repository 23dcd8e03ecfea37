"""The pure rules of a ticket's flow: which nodes a template gives a ticket, which stage is
running, and where an inserted node goes. No I/O: the caller loads and saves the nodes.

A node is a ``Step`` here (the table row's shape without the database): its ``stage`` orders
it; nodes of one stage run side by side and the next stage starts when all of them are done.
``dispatch``, ``visit``, ``settle`` and ``close`` nodes follow the ticket's own life (they are
done when the ticket is accepted, resolved, billed, closed — whichever stage they sit in), so a
node inserted before them never interrupts the technician's work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from handlers.workflow.engine.model import Facts, NodeDef, Template

WAITING, ACTIVE, DONE, SKIPPED = "waiting", "active", "done", "skipped"
#: node kinds the ticket's life moves (not their owners)
MIRRORED: Final = ("intake", "dispatch", "visit", "settle", "close")
#: ticket events → the node kind they finish
FINISHES: Final = {"created": "intake", "accepted": "dispatch", "resolved": "visit",
                   "billed": "settle", "closed": "close"}


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    kind: str
    stage: int
    status: str = WAITING
    owner_rule: str = ""
    actions: tuple[str, ...] = ()
    approval: str | None = None

    @property
    def open(self) -> bool:
        return self.status in (WAITING, ACTIVE)


def as_step(n: Any) -> Step:
    """A stored node (``models.workflow.WorkflowNode`` or anything shaped like it) as a Step."""
    return Step(n.key, n.name, n.kind, n.stage, n.status, n.owner_rule, tuple(n.actions),
                n.approval_rule)


def _step(node: NodeDef, stage: int) -> Step:
    return Step(node.key, node.name, node.kind, stage,
                owner_rule=node.owner.describe() if node.owner else "",
                actions=tuple(node.actions) if node.kind == "task" else (),
                approval=node.approval)


def plan(template: Template, facts: Facts) -> list[Step]:
    """The ticket's nodes: each stage of the template, without the nodes whose ``when`` does
    not hold (a stage left empty is dropped), numbered from 0."""
    out: list[Step] = []
    stage = 0
    for nodes in template.stages():
        kept = [n for n in nodes if n.when is None or n.when.holds(facts)]
        if kept:
            out += [_step(n, stage) for n in kept]
            stage += 1
    return out


def current_stage(steps: list[Step]) -> int | None:
    """The first stage with a node still open (None: the flow is complete)."""
    open_stages = [s.stage for s in steps if s.open]
    return min(open_stages) if open_stages else None


def to_activate(steps: list[Step]) -> list[Step]:
    """The waiting nodes of the current stage (they start now)."""
    stage = current_stage(steps)
    return [s for s in steps if s.stage == stage and s.status == WAITING]


def finish(steps: list[Step], what: str) -> list[Step]:
    """The mirrored nodes a ticket event (``FINISHES``) completes."""
    kind = FINISHES.get(what)
    return [s for s in steps if s.kind == kind and s.open]


def insertion_stage(steps: list[Step]) -> tuple[int, list[Step]]:
    """Where a node inserted now goes — right after the running stage — and the waiting nodes
    that move one stage later to make room (their order is kept)."""
    stage = current_stage(steps)
    if stage is None:
        last = max((s.stage for s in steps), default=-1)
        return last + 1, []
    at = stage + 1
    return at, [replace(s, stage=s.stage + 1) for s in steps
                if s.stage >= at and s.status == WAITING]


def unique_key(steps: list[Step], base: str) -> str:
    keys = {s.key for s in steps}
    if base not in keys:
        return base
    n = 2
    while f"{base}_{n}" in keys:
        n += 1
    return f"{base}_{n}"
