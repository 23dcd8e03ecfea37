"""The WeCom 审批 check: every approval that goes through WeCom's own 审批 app (``path: wecom`` in
config/workflow.yaml, or ``WECOM_APPROVAL_TEMPLATE_ID``) names a template this app may read —
``oa/gettemplatedetail`` [doc 91982] answers only when the app is in 审批 → API → 可调用接口的应用
(else 48002), and only for a template the corp made and enabled (else 301026, WORKFLOW_APIS.md
§1.1, §1.4) — and the template has every control ``wecom_controls`` fills, or ``oa/applyevent``
would refuse the form (301025)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.client import WeComClient, WeComError
from bot.settings import Settings
from handlers.doctor.report import Result
from handlers.doctor.texts import say

#: "获取审批模板数据失败": no such template, or not one this app may read [WORKFLOW_APIS.md]
UNKNOWN_TEMPLATE = 301026


@dataclass
class Use:
    """One template and who uses it: the approval rules' names and the controls they fill."""

    template_id: str
    who: list[str] = field(default_factory=list)
    controls: set[str] = field(default_factory=set)


def load_workflow():
    """The workflow configuration as the bot loads it, or None (its own ✗ is the config line's;
    a checkout without workflows has none)."""
    try:
        from handlers.workflow.config import load_workflow_config

        return load_workflow_config()
    except Exception:
        return None


def uses(settings: Settings) -> list[Use]:
    found: dict[str, Use] = {}
    workflow = load_workflow()
    if workflow is not None:
        rules = list(getattr(workflow, "shared_approvals", ()))
        for template in getattr(workflow, "templates", {}).values():
            rules += list(getattr(template, "approvals", ()))
        for rule in rules:
            if getattr(rule, "path", "bot") == "wecom" and rule.wecom_template_id:
                use = found.setdefault(rule.wecom_template_id, Use(rule.wecom_template_id))
                if rule.name not in use.who:
                    use.who.append(rule.name)
                use.controls |= set(rule.wecom_controls)
    if settings.WECOM_APPROVAL_TEMPLATE_ID:
        found.setdefault(settings.WECOM_APPROVAL_TEMPLATE_ID,
                         Use(settings.WECOM_APPROVAL_TEMPLATE_ID)).who.append(
            "WECOM_APPROVAL_TEMPLATE_ID")
    return list(found.values())


def _label(use: Use) -> str:
    return f"{use.template_id}（{'、'.join(use.who)}）"


async def check_approval(settings: Settings, client: WeComClient, wanted: list[Use]) -> Result:
    names: list[str] = []
    unknown: list[Use] = []
    short: list[tuple[str, list[str]]] = []
    for use in wanted:
        try:
            data = await client.call("oa/gettemplatedetail", {"template_id": use.template_id})
        except WeComError as exc:
            if exc.errcode == UNKNOWN_TEMPLATE:
                unknown.append(use)
                continue
            return Result("approval", "fail", say("approval.forbidden", code=exc.errcode),
                          (say("approval.forbidden.fix"),))
        titles = data.get("template_names") or [{}]
        name = str((titles[0] if isinstance(titles[0], dict) else {}).get("text")
                   or use.template_id)
        names.append(name)
        controls = (data.get("template_content") or {}).get("controls") or []
        have = {str((c.get("property") or {}).get("id")) for c in controls if isinstance(c, dict)}
        if missing := sorted(use.controls - have):
            short.append((name, missing))
    found, advice = [], []
    if unknown:
        ids = ", ".join(_label(u) for u in unknown)
        found.append(say("approval.template", code=UNKNOWN_TEMPLATE, ids=ids))
        advice.append(say("approval.template.fix"))
    for name, missing in short:
        found.append(say("approval.controls", name=name, ids=", ".join(missing)))
        advice.append(say("approval.controls.fix"))
    if found:
        return Result("approval", "fail", ("；".join(z for z, _ in found),
                                           "; ".join(e for _, e in found)), tuple(advice))
    return Result("approval", "ok", say("approval.ok", names="、".join(names)))
