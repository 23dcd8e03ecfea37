"""The sandbox's WeCom 审批 app: ``oa/applyevent`` (提交审批申请 [doc 91853]) and the
``sys_approval_change`` callback it pushes to the app's callback URL on every state change
[doc 91815] (WORKFLOW_APIS.md §1.2, §1.5).

Checked as WeCom checks it: ``creator_userid``, ``template_id`` and ``apply_data.contents`` are
required (40058 / 301025), a template the admin never made is 301026 (the sandbox knows the ids
in ``APPROVAL_TEMPLATES``), and the answer carries the new ``sp_no``. A form is decided from a
test or the page with ``decide_form(sp_no, approver, approve, speech)``: the callback goes to
the bot like any other app event, with ``FromUserName`` ``sys``, ``SpNoStr``, ``SpStatus``
(2 通过 / 3 驳回) and ``StatuChangeEvent`` (2 同意 / 3 驳回).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

#: the 审批 templates the sandbox's admin has made (config/workflow.yaml may name them)
APPROVAL_TEMPLATES = {"3TmAPPROVALsandboxQUOTE01": "维修报价审批"}


class ApprovalEmulator:
    """Mixed into ``Sandbox`` (server.py)."""

    def add_approval_routes(self, r: web.UrlDispatcher) -> None:
        self.forms: dict[str, dict[str, Any]] = {}
        r.add_post("/cgi-bin/oa/applyevent", self._api("oa/applyevent"))  # type: ignore[attr-defined]

    async def _oa_applyevent(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if not body.get("creator_userid") or not body.get("template_id"):
            return {"errcode": 40058, "errmsg": "invalid parameter"}
        if body["template_id"] not in APPROVAL_TEMPLATES:
            return {"errcode": 301026, "errmsg": "get template data failed"}
        contents = (body.get("apply_data") or {}).get("contents")
        if not contents or any(not c.get("id") or not c.get("value") for c in contents):
            return {"errcode": 301025, "errmsg": "apply data invalid"}
        sp_no = f"2026{len(self.forms) + 1:08d}"
        self.forms[sp_no] = {"body": body, "status": 1}
        return {"errcode": 0, "errmsg": "ok", "sp_no": sp_no}

    async def decide_form(self, sp_no: str, approver: str, approve: bool,
                          speech: str = "") -> dict[str, Any]:
        """The approver decides the form in WeCom's 审批 app: WeCom calls the bot back."""
        form = self.forms[sp_no]
        status = 2 if approve else 3
        form["status"] = status
        body = form["body"]
        fields = (
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[sys_approval_change]]></Event>"
            f"<ApprovalInfo><SpNo>{sp_no}</SpNo><SpNoStr><![CDATA[{sp_no}]]></SpNoStr>"
            f"<SpName><![CDATA[{APPROVAL_TEMPLATES[body['template_id']]}]]></SpName>"
            f"<SpStatus>{status}</SpStatus>"
            f"<TemplateId><![CDATA[{body['template_id']}]]></TemplateId>"
            f"<ApplyTime>{self._now_s()}</ApplyTime>"  # type: ignore[attr-defined]
            f"<Applyer><UserId><![CDATA[{escape(body['creator_userid'])}]]></UserId>"
            "<Party><![CDATA[1]]></Party></Applyer>"
            f"<SpRecord><SpStatus>{status}</SpStatus><ApproverAttr>1</ApproverAttr>"
            f"<Details><Approver><UserId><![CDATA[{escape(approver)}]]></UserId></Approver>"
            f"<Speech><![CDATA[{escape(speech)}]]></Speech><SpStatus>{status}</SpStatus>"
            f"<SpTime>{self._now_s()}</SpTime></Details></SpRecord>"  # type: ignore[attr-defined]
            f"<StatuChangeEvent>{status}</StatuChangeEvent></ApprovalInfo>")
        xml = self._app_xml("sys", fields)  # type: ignore[attr-defined]
        return await self.deliver("app", xml)  # type: ignore[attr-defined]
