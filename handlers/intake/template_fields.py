"""What intake collects, from the ticket's template (config/templates/, handlers/workflow/):
the template's ``collect`` list in its order — built-in slots (place, phone, device, time,
order) understood from the customer's own words, and the template's own fields (故障代码,
菜品, 退款金额 …) asked one at a time and read with ``nlp/field_values.py``.

A category no template serves falls back to ``config/intake.yaml``'s ``slots``.
A draft keeps its template's key in ``fields["template"]`` and the custom answers in
``fields["custom"]`` (``[{key, label, value}]`` in the template's order): the ticket keeps both,
and every view shows them with their labels.
"""

from __future__ import annotations

from typing import Any

from handlers.intake.config import SLOTS, IntakeConfig
from handlers.routing import Context
from handlers.voice import CATEGORY_NAMES
from handlers.workflow.config import WorkflowConfig
from nlp.field_values import read_value


def workflow_of(ctx: Context) -> WorkflowConfig | None:
    return ctx.services[WorkflowConfig] if WorkflowConfig in ctx.services else None


def pick_template(ctx: Context, category: str, text: str) -> dict[str, Any]:
    """The draft's first fields: its template, and the choices the report already names
    ("葡萄坏果了" answers 问题类型: 坏果)."""
    wf = workflow_of(ctx)
    t = wf.template_for(category, text) if wf else None
    if t is None:
        return {"template": ""}
    custom = []
    for name in t.collect:
        f = wf.field(name, t.key) if is_custom(name) else None  # type: ignore[union-attr]
        hit = next((o for o in f.options if o in text), None) if f and f.type == "choice" else None
        if hit:
            custom.append({"key": name, "label": f.label, "value": hit})  # type: ignore[union-attr]
    kind = {"kind": t.kind} if t.kind in CATEGORY_NAMES else {}
    # a template picked by its own words is named by its own name (宠物寄养, 商品问题)
    named = {"kind_name": t.name} if t.keywords else {}
    return {"template": t.key, **kind, **named, **({"custom": custom} if custom else {})}


def names_a_template(ctx: Context, text: str) -> bool:
    """The message has a template's own words ("寄养", "坏果"): a report of that kind."""
    wf = workflow_of(ctx)
    return wf is not None and any(w in text for t in wf.templates.values() for w in t.keywords)


def collect_list(ctx: Context, cfg: IntakeConfig, fields: dict[str, Any],
                 category: str) -> tuple[str, ...]:
    """The slots and fields to ask for, in order."""
    wf = workflow_of(ctx)
    t = wf.templates.get(fields.get("template") or "") if wf else None
    if t is None or t.kind != category:
        return cfg.slots_for(category)
    return t.collect


def custom_filled(fields: dict[str, Any], name: str) -> bool:
    return any(c.get("key") == name for c in fields.get("custom") or [])


def is_custom(name: str) -> bool:
    return name not in SLOTS


def _field(ctx: Context, fields: dict[str, Any], name: str) -> Any:
    wf = workflow_of(ctx)
    return wf.field(name, fields.get("template") or "") if wf else None


def ask_for(ctx: Context, fields: dict[str, Any], name: str) -> str:
    f = _field(ctx, fields, name)
    return f.ask if f else name


def answer_custom(ctx: Context, fields: dict[str, Any], name: str, text: str) -> dict[str, Any] | None:
    """``fields`` with the answer for the custom field ``name``, or None if ``text`` is not one
    (the caller asks again with the field's example)."""
    wf = workflow_of(ctx)
    f = _field(ctx, fields, name)
    if f is None:
        return None
    got = read_value(f.type, text, options=f.options, optional=f.optional,
                     has_image=bool(ctx.event.payload.get("images")))
    if not got.ok:
        return None
    custom = [c for c in fields.get("custom") or [] if c.get("key") != name]
    custom.append({"key": name, "label": f.label, "value": got.value})
    t = wf.templates.get(fields.get("template") or "") if wf else None
    order = {k: i for i, k in enumerate(t.fields if t else ())}
    custom.sort(key=lambda c: order.get(c["key"], len(order)))
    return {**fields, "custom": custom}


def retry_text(ctx: Context, fields: dict[str, Any], name: str) -> str:
    f = _field(ctx, fields, name)
    if f is None:
        return name
    hint = f"（例如：{f.example}）" if f.example else ""
    if f.type == "choice":
        hint = "（请回复：" + "、".join(f.options) + "）"
    return f"没看懂这个{f.label}{hint}。{f.ask}"


def custom_rows(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The custom answers as (label, value) rows, skipped ones left out."""
    return [(c["label"], c["value"]) for c in fields.get("custom") or []
            if c.get("value") and c.get("value") != "无"]
