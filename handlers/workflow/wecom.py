"""Approvals through WeCom's own 审批 app (a rule's ``path: wecom``), for companies whose
approvers live there: the form is submitted with ``oa/applyevent`` [doc 91853] and followed by
the ``sys_approval_change`` callback [doc 91815] (WORKFLOW_APIS.md §1.2, §1.5).

* Submitting is a network call, so it never runs inside an event's transaction: the approval
  arms a durable timer (``approval_submit``) that fires at once; its ``prepare`` step claims the
  approval in its own short transaction (``submit_state`` "" → "submitting": a second process,
  or the same timer after a crash, never submits the form twice) and calls WeCom without the
  client's retry of unknown outcomes (a form is better submitted once than twice). The handler
  records the ``sp_no``; a refusal (301055: the applicant is outside the app's visible range,
  301026: no such template …) or an unknown outcome falls back to the bot's own cards and the
  applicant is told. ``use_template_approver: 1``: WeCom's admin-configured flow picks the
  approvers (the safest shape; the rule's ``steps`` are then not used).
* The callback fires on every change (提单, 同意, 驳回, 撤销, 备注 …): the final ``SpStatus``
  (2 通过, 3 驳回, 4 撤销, 6 通过后撤销, 7 删除) decides; the others are audited only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import WeComClient, WeComError
from models.workflow import Approval

log = logging.getLogger("handlers.workflow.wecom")

SUBMIT = "approval_submit"
#: SpStatus → our outcome [WORKFLOW_APIS.md §1.4]
FINAL = {"2": "approved", "3": "rejected", "4": "rejected", "6": "rejected", "7": "rejected"}
WITHDRAWN = {"4": "申请人已撤销", "6": "通过后撤销", "7": "审批单已删除"}


def apply_body(rule: Any, *, applicant: str, ticket_number: str, summary: str,
               amount: str | None, now: datetime) -> dict[str, Any]:
    """The ``oa/applyevent`` request (classic shape, the template's own approvers)."""
    contents = []
    for control, what in rule.wecom_controls.items():
        if what == "amount":
            value: dict[str, Any] = {"new_money": amount or "0"}
            kind = "Money"
        else:
            value = {"text": ticket_number if what == "ticket" else summary[:1000]}
            kind = "Text" if what == "ticket" else "Textarea"
        contents.append({"control": kind, "id": control, "value": value})
    lines = [f"工单 {ticket_number}"] + ([f"金额 ¥{amount}"] if amount else [])
    return {"creator_userid": applicant, "template_id": rule.wecom_template_id,
            "use_template_approver": 1, "apply_data": {"contents": contents},
            # at most 3 lines of at most 20 characters each
            "summary_list": [{"summary_info": [{"text": t[:20], "lang": "zh_CN"}]}
                             for t in lines[:3]]}


async def prepare_submit(event: Any, client: WeComClient = None,  # type: ignore[assignment]
                         sm: async_sessionmaker = None,  # type: ignore[assignment]
                         ) -> dict[str, Any]:
    """Outside the transaction: claim the approval, then submit it. ``outcome``: ``{"sp_no"}``,
    ``{"error"}``, or None when another run has it."""
    data = event.payload.get("data") or {}
    approval_id, body = data.get("approval_id"), data.get("body")
    if client is None or sm is None or approval_id is None or not body:
        return {"outcome": {"error": "not configured"}}
    async with sm() as session, session.begin():
        claimed = (await session.execute(
            update(Approval).where(Approval.id == approval_id, Approval.submit_state == "")
            .values(submit_state="submitting"))).rowcount
    if not claimed:
        return {"outcome": None}
    try:
        got = await client.call("oa/applyevent", body, retry_unknown=False)
    except (WeComError, OSError, TimeoutError) as exc:  # an errcode, the network
        code = getattr(exc, "errcode", None)
        log.warning("approval %s: oa/applyevent failed (%s%s); the bot's cards take over",
                    approval_id, type(exc).__name__, f" errcode {code}" if code else "")
        return {"outcome": {"error": f"errcode {code}" if code else type(exc).__name__}}
    sp_no = str(got.get("sp_no") or "")
    if not sp_no:
        return {"outcome": {"error": "no sp_no in the answer"}}
    return {"outcome": {"sp_no": sp_no}}
