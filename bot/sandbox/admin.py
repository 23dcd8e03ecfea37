"""The admin console as the APIs show it — what the setup doctor (``python main.py doctor``)
reads — and the switches a test uses to get each console mistake wrong on purpose.

Emulated: ``agent/get`` (the app and its visible range) [doc 90227], ``user/get`` (a member, only
inside the app's visible range) [doc 90196], ``kf/account/list`` (微信客服 accounts and whether
the app may manage each) [doc 94661], ``oa/gettemplatedetail`` (the app granted 审批 →
API → 可调用接口的应用) [doc 91982], and on every API the untrusted-IP refusal (60020, worded
as WeCom words it), tokens that are already expired (42001) and WeCom's clock in the ``Date``
header. ``gettoken``'s own errcodes (40001/40013/41004) are in ``apis.py``.

Where our material names no errcode for a refusal, the sandbox uses the global table's closest
one and says so: 301002 for an AgentId that is not the token's app, 48002 ("API 接口无权限调用")
for 微信客服 or 审批 not granted, 60011 / 60111 for a member outside the range / unknown
[doc 90313].
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from bot.sandbox.approvals import APPROVAL_TEMPLATES
from bot.sandbox.state import BOT_NAME, OPEN_KFID, Persona, SandboxState
from scheduler.clock import Clock

#: WeCom's wording of 60020, from the errmsgs people report (the hint is WeCom's request id)
UNTRUSTED_IP_ERRMSG = ("not allow to access from your ip, hint: [1732500000123456789012345], "
                       "from ip: {ip}, more info at https://open.work.weixin.qq.com/devtool/"
                       "query?e=60020")
#: the controls of the sandbox's 审批 templates (approvals.py): id → (control type, title)
TEMPLATE_CONTROLS = {"Text-1": ("Text", "工单号"), "Textarea-1": ("Textarea", "审批内容"),
                     "Money-1": ("Money", "金额")}
DEFAULT_KF_ACCOUNT = {"open_kfid": OPEN_KFID, "name": "工单客服", "avatar": "",
                      "manage_privilege": True}


class WeComAdmin:
    """Mixed into ``Sandbox`` (``server.py``): its state, clock, agent id and personas."""

    state: SandboxState
    clock: Clock
    agent_id: int
    personas: dict[str, Persona]

    # -- test controls: each makes one doctor check fail as the real console would ----------

    def untrust_ip(self, ip: str = "203.0.113.7", *, gettoken: bool = False) -> None:
        """This server's IP is not in the app's 企业可信IP: every API answers 60020 (and
        ``gettoken`` too with ``gettoken=True``)."""
        self.state.console.untrusted_ip = ip
        self.state.console.untrusted_gettoken = gettoken

    def issue_expired_tokens(self) -> None:
        """Tokens come back already expired: every call with one gets 42001."""
        self.state.console.expired_tokens = True

    def hide_from_app(self, *userids: str) -> None:
        """Take members out of the app's visible range (应用可见范围)."""
        self.state.console.hidden.update(u.lower() for u in userids)

    def add_member(self, userid: str, name: str = "") -> None:
        """A member of the corp who is on no sandbox page."""
        self.state.console.members[userid] = name or userid

    def set_kf_accounts(self, accounts: list[dict[str, Any]]) -> None:
        self.state.console.kf_accounts = accounts

    def forbid(self, what: str) -> None:
        """``"kf"``: the app is not in 微信客服 → API → 可调用接口的应用; ``"approval"``: nor in
        审批 → API → 可调用接口的应用."""
        self.state.console.forbidden.add(what)

    def skew_clock(self, seconds: float) -> None:
        """WeCom's ``Date`` header runs this far ahead of ours (negative: behind)."""
        self.state.console.date_offset = timedelta(seconds=seconds)

    def close_app(self) -> None:
        """The app was disabled (停用) in the console: ``agent/get`` says ``close: 1``."""
        self.state.console.app_closed = True

    # -- what the rules ask ------------------------------------------------------------------

    def _untrusted(self, api: str) -> web.Response | None:
        c = self.state.console
        if c.untrusted_ip and (api != "gettoken" or c.untrusted_gettoken):
            return web.json_response({"errcode": 60020,
                                      "errmsg": UNTRUSTED_IP_ERRMSG.format(ip=c.untrusted_ip)})
        return None

    def _token_ttl(self, ttl: int) -> timedelta:
        return timedelta(seconds=-1 if self.state.console.expired_tokens else ttl)

    async def _date_header(self, request: web.Request, response: web.StreamResponse) -> None:
        """``on_response_prepare``: WeCom's clock, as its ``Date`` header says it."""
        offset = self.state.console.date_offset
        if offset and request.path.startswith("/cgi-bin/"):
            response.headers["Date"] = format_datetime(self.clock.now() + offset, usegmt=True)

    def _members(self) -> dict[str, tuple[str, str]]:
        """Everyone in the corp: lower-cased userid → (userid as WeCom spells it, name).
        WeCom userids are case-insensitive [doc 90196]."""
        people = {p.userid: p.name for p in self.personas.values() if p.channel != "kf"}
        people.update(self.state.console.members)
        return {u.lower(): (u, n) for u, n in people.items()}

    # -- the APIs ----------------------------------------------------------------------------

    async def _agent_get(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if request.query.get("agentid") != str(self.agent_id):
            # "企业仅可获取当前凭证对应的应用" [doc 90227]; the errcode is 90313's 301002.
            return {"errcode": 301002, "errmsg": "not allow to operate another agent"}
        hidden = self.state.console.hidden
        visible = [{"userid": u} for key, (u, _) in self._members().items() if key not in hidden]
        return {"errcode": 0, "errmsg": "ok", "agentid": self.agent_id, "name": BOT_NAME,
                "square_logo_url": "", "description": "",
                "allow_userinfos": {"user": visible}, "allow_partys": {"partyid": []},
                "allow_tags": {"tagid": []}, "close": int(self.state.console.app_closed),
                "redirect_domain": "", "report_location_flag": 0, "isreportenter": 0,
                "home_url": ""}

    async def _user_get(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        key = request.query.get("userid", "").lower()
        member = self._members().get(key)
        if member is None:
            return {"errcode": 60111, "errmsg": "invalid string value `userid`. userid not found"}
        if key in self.state.console.hidden:  # 应用只能获取可见范围内的成员信息 [doc 90196]
            return {"errcode": 60011, "errmsg": "no privilege to access/modify contact/party/agent"}
        return {"errcode": 0, "errmsg": "ok", "userid": member[0], "name": member[1],
                "department": [1]}

    async def _kf_account_list(self, body: dict[str, Any],
                               request: web.Request) -> dict[str, Any]:
        if "kf" in self.state.console.forbidden:
            return {"errcode": 48002, "errmsg": "api forbidden"}
        accounts = self.state.console.kf_accounts
        accounts = [DEFAULT_KF_ACCOUNT] if accounts is None else accounts
        offset, limit = int(body.get("offset") or 0), min(int(body.get("limit") or 100), 100)
        return {"errcode": 0, "errmsg": "ok", "account_list": accounts[offset:offset + limit]}

    async def _oa_gettemplatedetail(self, body: dict[str, Any],
                                    request: web.Request) -> dict[str, Any]:
        if "approval" in self.state.console.forbidden:
            return {"errcode": 48002, "errmsg": "api forbidden"}
        template_id = str(body.get("template_id") or "")
        if template_id not in APPROVAL_TEMPLATES:  # as oa/applyevent says it (approvals.py)
            return {"errcode": 301026, "errmsg": "get template data failed"}
        controls = [{"property": {"control": control, "id": cid,
                                  "title": [{"text": title, "lang": "zh_CN"}], "require": 1},
                     "config": {}} for cid, (control, title) in TEMPLATE_CONTROLS.items()]
        return {"errcode": 0, "errmsg": "ok",
                "template_names": [{"text": APPROVAL_TEMPLATES[template_id], "lang": "zh_CN"}],
                "template_content": {"controls": controls}}
