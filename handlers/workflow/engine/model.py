"""Templates as written in ``config/templates/*.yaml`` and the field library
(``config/fields.yaml``), validated with pydantic (the loader reports file:line:field).

A template is one kind of ticket (``kind``: the category intake recognises) for one industry:
its fields, which of them intake collects and in what order, what the cards show, its workflow
(stages of nodes; a stage with several nodes runs them in parallel and ends when all are done)
and its approval rules.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FIELD_TYPES = ("text", "number", "money", "choice", "datetime", "phone", "address", "device",
               "store", "order", "fault_code", "photo", "video_link")
#: the fields intake understands by itself (entities of the message), and the slot each fills
BUILT_IN = {"place": "place", "phone": "phone", "device": "device", "time": "time",
            "order": "order"}
NODE_KINDS = ("intake", "dispatch", "visit", "settle", "close", "task", "approval")
#: what a person may do on a task node's card (and in chat: "完成 GD…", "转交 GD… 王经理")
ACTIONS = ("done", "transfer")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldDef(_Strict):
    """One field of the library: how it is asked for and what an answer must look like."""

    label: str = Field(min_length=1, max_length=10)
    type: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    ask: str = Field(min_length=1)
    options: tuple[str, ...] = ()
    example: str = ""
    optional: bool = False  # the person may answer 无 / 没有 / 跳过

    @model_validator(mode="after")
    def _choices(self) -> "FieldDef":
        if self.type == "choice" and not self.options:
            raise ValueError("a choice field needs options")
        if self.type != "choice" and self.options:
            raise ValueError("only a choice field has options")
        return self


class FieldLibrary(_Strict):
    fields: dict[str, FieldDef]

    @field_validator("fields")
    @classmethod
    def _names(cls, v: dict[str, FieldDef]) -> dict[str, FieldDef]:
        for name in v:
            if not name.replace("_", "").isalnum() or not name.isascii() or len(name) > 20:
                raise ValueError(f"{name!r}: field names are ASCII letters, digits and _ "
                                 "(at most 20)")
            if name in BUILT_IN:
                raise ValueError(f"{name!r} is a built-in field; choose another name")
        return v


class Condition(_Strict):
    """All that is given must hold (an empty condition always holds)."""

    amount_gt: Decimal | None = None
    amount_gte: Decimal | None = None
    amount_lt: Decimal | None = None
    customer_tags: tuple[str, ...] = ()  # the customer has one of these tags
    fields: dict[str, tuple[str, ...]] = {}  # field → the values it may have
    priorities: tuple[Literal["low", "normal", "high", "urgent"], ...] = ()
    stores: tuple[str, ...] = ()

    def holds(self, facts: "Facts") -> bool:
        amount = facts.amount
        if any(x is not None for x in (self.amount_gt, self.amount_gte, self.amount_lt)):
            if amount is None:
                return False
            if self.amount_gt is not None and not amount > self.amount_gt:
                return False
            if self.amount_gte is not None and not amount >= self.amount_gte:
                return False
            if self.amount_lt is not None and not amount < self.amount_lt:
                return False
        if self.customer_tags and not set(self.customer_tags) & set(facts.customer_tags):
            return False
        for name, values in self.fields.items():
            if facts.fields.get(name) not in values:
                return False
        if self.priorities and facts.priority not in self.priorities:
            return False
        return not self.stores or facts.store in self.stores


class Facts(BaseModel):
    """What conditions read of a ticket (and of a quote, for approval rules)."""

    amount: Decimal | None = None
    customer_tags: tuple[str, ...] = ()
    fields: dict[str, Any] = {}
    priority: str = "normal"
    store: str | None = None


class OwnerRule(_Strict):
    """Who owns a node (exactly one way): people with a role, in a department, with a tag, the
    duty manager of the ticket's store, the dispatcher on duty, or the reporter."""

    role: str | None = None
    department: str | None = None
    tag: str | None = None
    store_duty: bool = False
    dispatcher: bool = False
    reporter: bool = False

    @model_validator(mode="after")
    def _one(self) -> "OwnerRule":
        given = [k for k in ("role", "department", "tag") if getattr(self, k)] + [
            k for k in ("store_duty", "dispatcher", "reporter") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("name exactly one of role, department, tag, store_duty, "
                             "dispatcher, reporter")
        return self

    def describe(self) -> str:
        for k in ("role", "department", "tag"):
            if getattr(self, k):
                return f"{k}:{getattr(self, k)}"
        return next(k for k in ("store_duty", "dispatcher", "reporter") if getattr(self, k))


class NodeDef(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=12)
    kind: Literal[NODE_KINDS] = "task"  # type: ignore[valid-type]
    owner: OwnerRule | None = None
    when: Condition | None = None  # the node is part of the ticket's flow only when it holds
    actions: tuple[Literal[ACTIONS], ...] = ("done", "transfer")  # type: ignore[valid-type]
    approval: str | None = None  # kind approval: the rule it asks

    @model_validator(mode="after")
    def _owner(self) -> "NodeDef":
        if self.kind == "task" and self.owner is None:
            raise ValueError("a task node needs an owner")
        if self.kind == "approval" and not self.approval:
            raise ValueError("an approval node names its rule (approval: key)")
        return self


class Stage(_Strict):
    """Nodes run side by side; the stage ends when every one of them is done."""

    parallel: tuple[NodeDef, ...] = Field(min_length=2)


class ApprovalStep(_Strict):
    approvers: OwnerRule
    mode: Literal["any", "all"] = "any"  # 或签 / 会签


class ApprovalRule(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=20)
    when: Condition = Condition()
    steps: tuple[ApprovalStep, ...] = Field(min_length=1)
    path: Literal["bot", "wecom"] = "bot"  # our cards, or WeCom's own 审批 app
    wecom_template_id: str = ""  # path wecom: the 审批 template to submit with oa/applyevent
    #: path wecom: the template's controls and what fills each (its control ids come from
    #: oa/gettemplatedetail): ticket (Text), summary (Textarea), amount (Money)
    wecom_controls: dict[str, Literal["ticket", "summary", "amount"]] = {}
    remind_minutes: int = Field(default=60, ge=1)

    @model_validator(mode="after")
    def _wecom(self) -> "ApprovalRule":
        if self.path == "wecom" and not (self.wecom_template_id and self.wecom_controls):
            raise ValueError("path wecom needs wecom_template_id (the 审批 template) and "
                             "wecom_controls (its control ids: ticket, summary, amount)")
        return self


class Template(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=30)
    kind: str = Field(min_length=1, max_length=20)  # the ticket category it serves
    industry: str = ""
    keywords: tuple[str, ...] = ()  # words that pick this template among several of one kind
    #: fields of this template only, defined here (a new kind of ticket in one file)
    field_defs: dict[str, FieldDef] = {}
    fields: tuple[str, ...] = ()  # from the library, built in, or field_defs
    collect: tuple[str, ...] = ()  # what intake asks for, in order
    card: tuple[str, ...] = ()  # what cards show, in order
    workflow: tuple[NodeDef | Stage, ...] = Field(min_length=1)
    approvals: tuple[ApprovalRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "Template":
        FieldLibrary(fields=self.field_defs)  # the library's rules for names apply here too
        for part in ("collect", "card"):
            unknown = [f for f in getattr(self, part) if f not in self.fields]
            if unknown:
                raise ValueError(f"{part}: {unknown} not among this template's fields")
        keys = [n.key for n in self.nodes()]
        if len(set(keys)) != len(keys):
            raise ValueError("node keys must be unique")
        rules = {r.key for r in self.approvals}
        missing = [n.approval for n in self.nodes() if n.approval and n.approval not in rules]
        if missing:
            raise ValueError(f"approval nodes name unknown rules {missing}")
        return self

    def stages(self) -> list[tuple[NodeDef, ...]]:
        return [s.parallel if isinstance(s, Stage) else (s,) for s in self.workflow]

    def nodes(self) -> list[NodeDef]:
        return [n for stage in self.stages() for n in stage]

    def node(self, key: str) -> NodeDef | None:
        return next((n for n in self.nodes() if n.key == key), None)

    def approval(self, key: str) -> ApprovalRule | None:
        return next((r for r in self.approvals if r.key == key), None)


def unknown_fields(template: Template, library: FieldLibrary) -> list[str]:
    return [f for f in template.fields if f not in library.fields]


def as_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
