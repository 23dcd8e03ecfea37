"""The checks that ask WeCom: the app's credentials (``gettoken`` [doc 91039]), this server's IP
(errcode 60020 [doc 90313]), the app itself and its visible range (``agent/get`` [doc 90227],
``user/get`` [doc 90196]), 微信客服 (``kf/account/list`` [doc 94661]), the approval API
(``approval.py``) and the clock (the ``Date`` header of WeCom's answers).

Only reads: nothing here sends a message or changes the console. Every call goes through the bot's
own client (``bot.client.WeComClient``), so the doctor sees WeCom exactly as the bot does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.client import (WeComClient, WeComError, WeComTokenError, WeComTransportError,
                        WeComUntrustedIp)
from bot.settings import Settings
from handlers.doctor.approval import check_approval, uses
from handlers.doctor.report import Report, Result
from handlers.doctor.texts import WHERE, say

#: the clock may be this far from WeCom's (seconds)
CLOCK_LIMIT = 60
#: at most this many ``user/get`` calls per run (staff not listed by name in the visible range)
USER_GET_CAP = 200
#: who to name in a line, at most
NAMES = 8
#: gettoken's errcodes and the setting each points at [doc 90313]
GETTOKEN_CODES = {40001: "WECOM_SECRET", 40013: "WECOM_CORP_ID", 41004: "WECOM_SECRET"}
#: a userid WeCom does not know (无效的UserID / userid not found) [doc 90313]
UNKNOWN_USER = {40003, 60111}


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:NAMES])
    return shown + (f" … (+{len(items) - NAMES})" if len(items) > NAMES else "")


def _untrusted(exc: WeComUntrustedIp) -> Result:
    ip = exc.ip
    zh_ip, en_ip = say("trusted_ip.unknown_ip")
    detail = say("trusted_ip.fail", ip=ip or "?")
    zh_fix, _ = say("trusted_ip.fix", ip=ip or zh_ip)
    _, en_fix = say("trusted_ip.fix", ip=ip or en_ip)
    return Result("trusted_ip", "fail", detail, ((zh_fix, en_fix),))


async def check_wecom(settings: Settings, client: WeComClient, report: Report,
                      staff: list[str] | None, wanted: Callable[[str], bool]) -> None:
    """Adds gettoken, clock, trusted_ip, agent, visible_range, kf and approval to ``report``."""
    token, untrusted = await _gettoken(settings, client)
    agent_data, answered = None, False
    if token.status == "ok":
        agent, agent_data, answered, untrusted = await _agent(settings, client, untrusted)
    else:
        agent = Result("agent", "skip", say("skip.gettoken"))
    report.add(token)
    report.add(_clock(client))
    if untrusted is not None:
        report.add(untrusted)
    elif answered:  # WeCom answered a call that needs a trusted IP with something else
        report.add(Result("trusted_ip", "ok", say("trusted_ip.ok")))
    else:
        report.add(Result("trusted_ip", "skip", say("skip.gettoken")))
    report.add(agent)
    if agent_data is not None:
        report.add(await _visible_range(client, agent_data, staff))
    else:
        report.add(Result("visible_range", "skip", say("skip.agent")))
    if not wanted("kf"):
        report.add(Result("kf", "skip", say("skip.by_setting")))
    elif agent_data is None:
        report.add(Result("kf", "skip", say("skip.agent")))
    else:
        report.add(await _kf(settings, client))
    templates = uses(settings) if wanted("approval") else []
    if not wanted("approval"):
        report.add(Result("approval", "skip", say("skip.by_setting")))
    elif not templates:
        report.add(Result("approval", "skip", say("approval.unused")))
    elif agent_data is None:
        report.add(Result("approval", "skip", say("skip.agent")))
    else:
        report.add(await check_approval(settings, client, templates))


def _transport(check_id: str, settings: Settings, exc: WeComTransportError) -> Result:
    return Result(check_id, "fail", say("gettoken.transport", base=settings.WECOM_API_BASE,
                                        error=exc.errmsg or type(exc).__name__),
                  (say("gettoken.transport.fix"),))


def _other(check_id: str, exc: WeComError) -> Result:
    return Result(check_id, "fail", say("gettoken.other", code=exc.errcode,
                                        errmsg=exc.errmsg[:120]),
                  (say("gettoken.other.fix", code=exc.errcode),))


async def _gettoken(settings: Settings, client: WeComClient) -> tuple[Result, Result | None]:
    """The app's CorpID and Secret (40001 / 40013 / 41004 [doc 90313]); WeCom may refuse the
    IP already here (60020)."""
    try:
        await client.token()
    except WeComUntrustedIp as exc:
        untrusted = _untrusted(exc)
        return Result("gettoken", "fail", untrusted.detail, untrusted.advice), untrusted
    except WeComTransportError as exc:
        return _transport("gettoken", settings, exc), None
    except WeComError as exc:
        code = exc.errcode or 0
        if code in GETTOKEN_CODES:
            return Result("gettoken", "fail", say(f"gettoken.{code}"),
                          (WHERE[GETTOKEN_CODES[code]],)), None
        return _other("gettoken", exc), None
    return Result("gettoken", "ok", say("gettoken.ok")), None


async def _agent(settings: Settings, client: WeComClient, untrusted: Result | None
                 ) -> tuple[Result, dict[str, Any] | None, bool, Result | None]:
    """``agent/get``: the first call that needs a trusted IP, the AgentId and the app.
    Returns (result, the app's data, whether WeCom answered past the IP check, 60020)."""
    agent = settings.WECOM_AGENT_ID
    try:
        data = await client.call("agent/get", method="GET", params={"agentid": agent})
    except WeComUntrustedIp as exc:
        return Result("agent", "skip", say("skip.trusted_ip")), None, False, _untrusted(exc)
    except WeComTokenError as exc:
        if exc.errcode == 42001:
            return (Result("agent", "fail", say("token.42001"), (say("token.42001.fix"),)),
                    None, True, untrusted)
        return _other("agent", exc), None, True, untrusted
    except WeComTransportError as exc:
        return _transport("agent", settings, exc), None, False, untrusted
    except WeComError as exc:
        return (Result("agent", "fail", say("agent.mismatch", code=exc.errcode, agent=agent),
                       (say("agent.mismatch.fix"),)), None, True, untrusted)
    name = str(data.get("name") or agent)
    if data.get("close"):
        return (Result("agent", "fail", say("agent.closed", name=name),
                       (say("agent.closed.fix"),)), None, True, untrusted)
    return Result("agent", "ok", say("agent.ok", agent=agent, name=name)), data, True, untrusted


def _clock(client: WeComClient) -> Result:
    if client.server_date is None:
        return Result("clock", "skip", say("clock.none"))
    theirs, ours = client.server_date
    # The Date header counts whole seconds: compare whole seconds, or a clock 150 s off shows
    # as 149 (the header is truncated, our reading is not).
    skew = (ours.replace(microsecond=0) - theirs).total_seconds()
    shown = f"{abs(skew):.0f}"
    if abs(skew) <= CLOCK_LIMIT:
        return Result("clock", "ok", say("clock.ok", skew=shown, limit=CLOCK_LIMIT))
    zh_way, en_way = ("快", "ahead of") if skew > 0 else ("慢", "behind")
    zh, _ = say("clock.fail", way=zh_way, way_en=en_way, skew=shown, limit=CLOCK_LIMIT)
    _, en = say("clock.fail", way=zh_way, way_en=en_way, skew=shown, limit=CLOCK_LIMIT)
    return Result("clock", "fail", (zh, en), (say("clock.fix"),))


async def _visible_range(client: WeComClient, agent: dict[str, Any],
                         staff: list[str] | None) -> Result:
    """Every active staff member must be inside the app's visible range, spelled as WeCom spells
    them. Named members come with ``agent/get``; the rest (through a department or tag) are
    asked one by one with ``user/get``, which only answers inside the range [doc 90196]."""
    if staff is None:
        return Result("visible_range", "skip", say("skip.database"))
    if not staff:
        return Result("visible_range", "ok", say("range.empty"))
    users = (agent.get("allow_userinfos") or {}).get("user") or []
    listed = {str(u.get("userid")) for u in users if isinstance(u, dict)}
    by_lower = {u.lower(): u for u in listed}
    hidden: list[str] = []
    unknown: list[str] = []
    case: list[str] = []
    ask = []
    for userid in staff:
        if userid in listed:
            continue
        if userid.lower() in by_lower:
            case.append(f"{userid} → {by_lower[userid.lower()]}")
        else:
            ask.append(userid)
    for userid in ask[:USER_GET_CAP]:
        try:
            data = await client.call("user/get", method="GET", params={"userid": userid})
        except WeComError as exc:
            (unknown if exc.errcode in UNKNOWN_USER else hidden).append(userid)
            continue
        spelled = str(data.get("userid") or userid)
        if spelled != userid:
            case.append(f"{userid} → {spelled}")
    capped = say("range.capped", cap=USER_GET_CAP) if len(ask) > USER_GET_CAP else ("", "")
    found, advice = [], []
    for items, key in ((hidden, "range.hidden"), (unknown, "range.unknown"), (case, "range.case")):
        if items:
            found.append(say(key, n=len(items), who=_names(items)))
            advice.append(say(key + ".fix", who=_names(items)))
    if not found:
        zh, en = say("range.ok", n=len(staff) - len(ask) + min(len(ask), USER_GET_CAP))
        return Result("visible_range", "ok", (zh + capped[0], en + capped[1]))
    return Result("visible_range", "fail", ("；".join(z for z, _ in found) + capped[0],
                                            "; ".join(e for _, e in found) + capped[1]),
                  tuple(advice))


async def _kf(settings: Settings, client: WeComClient) -> Result:
    try:
        data = await client.call("kf/account/list", {"offset": 0, "limit": 100})
    except WeComError as exc:
        return Result("kf", "fail", say("kf.forbidden", code=exc.errcode),
                      (say("kf.forbidden.fix"),))
    accounts = [a for a in data.get("account_list") or [] if isinstance(a, dict)]
    if not accounts:
        return Result("kf", "fail", say("kf.none"), (say("kf.none.fix"),))
    label = lambda a: f"{a.get('name') or '?'} ({a.get('open_kfid', '?')})"  # noqa: E731
    # manage_privilege: may this app edit, assign and send for the account [doc 94661]
    managed = [label(a) for a in accounts if a.get("manage_privilege", True) is not False]
    if not managed:
        names = _names([label(a) for a in accounts])
        return Result("kf", "fail", say("kf.no_privilege", names=names),
                      (say("kf.no_privilege.fix"),))
    return Result("kf", "ok", say("kf.ok", n=len(managed), names=_names(managed)))
