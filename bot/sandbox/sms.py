"""The sandbox's SMS providers: Tencent Cloud ``SendSms`` (POST ``/sms/tencent/``) and Alibaba
Cloud ``dysmsapi`` ``SendSms`` (GET ``/sms/aliyun/``), as the bot's ``bot/sms.py`` calls them.

Faithful where it matters (WORKFLOW_APIS.md §5): each request's signature is checked with the
sandbox's own credentials (``SMS_CREDENTIALS``; a wrong one gets the provider's auth error),
Tencent's per-number ``Code`` is ``"Ok"`` and Aliyun's is ``"OK"``, and the default frequency
limits apply on the sandbox clock — Tencent: the same content to the same number once per 30 s
and 10 per number per day (``LimitExceeded.PhoneNumberThirtySecondLimit`` /
``…DailyLimit``); Aliyun notifications: 50 per number, sign and template per day
(``isv.BUSINESS_LIMIT_CONTROL``). Tests inject failures with ``sandbox.fail_sms(provider,
code)`` and read what arrived in ``sandbox.sms``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sms import aliyun_signature, tc3_authorization
from scheduler.calendar import SHANGHAI

#: the credentials the sandbox accepts (sandbox mode and tests configure the bot with these)
SMS_CREDENTIALS = {"tencent": ("AKIDsandbox0000", "sandbox-tencent-key"),
                   "aliyun": ("LTAIsandbox0000", "sandbox-aliyun-secret")}
TENCENT_DAILY, ALIYUN_DAILY, TENCENT_SAME_CONTENT_S = 10, 50, 30


@dataclass
class Sms:
    provider: str
    phone: str
    params: list[str]
    sign: str
    template: str
    at: str


class SmsEmulator:
    """Mixed into ``Sandbox`` (``bot/sandbox/server.py``): routes, faults, what was sent."""

    clock: Any

    def _sms_state(self) -> dict[str, Any]:
        st = self.__dict__.setdefault("_sms", {"sent": [], "faults": {}})
        return st

    @property
    def sms(self) -> list[Sms]:
        return self._sms_state()["sent"]

    def fail_sms(self, provider: str, code: str, times: int = 1) -> None:
        """The next ``times`` calls to ``provider`` answer ``code``."""
        self._sms_state()["faults"].setdefault(provider, []).extend([code] * times)

    def add_sms_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/sms/tencent/", self.tencent_send_sms)
        router.add_get("/sms/aliyun/", self.aliyun_send_sms)

    def _sms_fault(self, provider: str) -> str | None:
        faults = self._sms_state()["faults"].get(provider) or []
        return faults.pop(0) if faults else None

    def _sms_count(self, provider: str, phone: str, *, since_s: float,
               params: list[str] | None = None) -> int:
        now = self.clock.now()
        day = now.astimezone(SHANGHAI).date()
        n = 0
        for s in self.sms:
            if s.provider != provider or s.phone != phone:
                continue
            at = datetime.fromisoformat(s.at)
            if since_s and (now - at).total_seconds() >= since_s:
                continue
            if not since_s and at.astimezone(SHANGHAI).date() != day:
                continue
            if params is not None and s.params != params:
                continue
            n += 1
        return n

    async def tencent_send_sms(self, request: web.Request) -> web.Response:
        body = await request.text()
        rid = f"sandbox-{len(self.sms) + 1}"

        def error(code: str, message: str) -> web.Response:
            return web.json_response({"Response": {"Error": {"Code": code, "Message": message},
                                                   "RequestId": rid}})

        secret_id, key = SMS_CREDENTIALS["tencent"]
        ts = int(request.headers.get("X-TC-Timestamp", "0") or 0)
        want = tc3_authorization(secret_id=secret_id, secret_key=key,
                                 host=request.headers.get("Host", ""), body=body, timestamp=ts)
        if request.headers.get("Authorization") != want:
            return error("AuthFailure.SignatureFailure", "签名错误")
        if abs(self.clock.now().timestamp() - ts) > 300:
            return error("AuthFailure.SignatureExpire", "签名过期")
        if request.headers.get("X-TC-Action") != "SendSms" or \
                request.headers.get("X-TC-Version") != "2021-01-11":
            return error("InvalidAction", "unknown action or version")
        doc = json.loads(body)
        phone = doc["PhoneNumberSet"][0]
        params = [str(p) for p in doc.get("TemplateParamSet", [])]
        code = self._sms_fault("tencent")
        if code is None and self._sms_count("tencent", phone, since_s=TENCENT_SAME_CONTENT_S,
                                        params=params):
            code = "LimitExceeded.PhoneNumberThirtySecondLimit"
        if code is None and self._sms_count("tencent", phone, since_s=0) >= TENCENT_DAILY:
            code = "LimitExceeded.PhoneNumberDailyLimit"
        if code is not None and not code.startswith(("LimitExceeded", "FailedOperation")):
            return error(code, "injected")
        if code is None:
            self.sms.append(Sms("tencent", phone, params, doc.get("SignName", ""),
                                doc.get("TemplateId", ""), self.clock.now().isoformat()))
            self._record_sms("tencent", phone, "Ok")
        else:
            self._record_sms("tencent", phone, code)
        return web.json_response({"Response": {"SendStatusSet": [{
            "SerialNo": f"{rid}-serial", "PhoneNumber": phone, "Fee": 1, "SessionContext": "",
            "Code": code or "Ok", "Message": "send success" if code is None else code,
            "IsoCode": "CN"}], "RequestId": rid}})

    async def aliyun_send_sms(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        rid = f"sandbox-{len(self.sms) + 1}"
        key_id, secret = SMS_CREDENTIALS["aliyun"]
        sig = q.pop("Signature", "")
        if q.get("AccessKeyId") != key_id:
            return web.json_response({"Code": "InvalidAccessKeyId.NotFound", "RequestId": rid})
        if sig != aliyun_signature(q, secret):
            return web.json_response({"Code": "SignatureDoesNotMatch", "RequestId": rid,
                                      "Message": "Specified signature is not matched"})
        phone = q.get("PhoneNumbers", "")
        try:
            params = list(json.loads(q.get("TemplateParam", "{}")).values())
        except ValueError:
            return web.json_response({"Code": "isv.INVALID_JSON_PARAM", "RequestId": rid})
        code = self._sms_fault("aliyun")
        if code is None and self._sms_count("aliyun", phone, since_s=0) >= ALIYUN_DAILY:
            code = "isv.BUSINESS_LIMIT_CONTROL"
        self._record_sms("aliyun", phone, code or "OK")
        if code is not None:
            return web.json_response({"Code": code, "Message": code, "RequestId": rid})
        self.sms.append(Sms("aliyun", phone, [str(p) for p in params], q.get("SignName", ""),
                            q.get("TemplateCode", ""), self.clock.now().isoformat()))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": f"{rid}-biz",
                                  "RequestId": rid})

    def _record_sms(self, provider: str, phone: str, code: str) -> None:
        calls = getattr(self, "state", None)
        if calls is not None:  # the sandbox's record of calls (the page, tests)
            calls.calls.append({"api": f"sms/{provider}", "params": {"phone": phone},
                                "body": None, "errcode": 0 if code in ("Ok", "OK") else code,
                                "at": self.clock.now().isoformat()})
