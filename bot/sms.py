"""SMS providers for escalations: one interface, two implementations.

* ``TencentSms`` — Tencent Cloud SMS API 3.0 ``SendSms`` (version 2021-01-11), a POST of JSON
  signed with TC3-HMAC-SHA256; success per number is ``SendStatusSet[i].Code == "Ok"``.
* ``AliyunSms`` — Alibaba Cloud ``dysmsapi`` ``SendSms`` (2017-05-25, RPC style), a GET signed
  with signature V1.0 (HMAC-SHA1 over ``GET&%2F&`` + the percent-encoded sorted query);
  success is ``Code == "OK"``.

Request shapes and signing: ``../shared/wecom/WORKFLOW_APIS.md`` §5. Both send one number per
call and raise ``SmsError`` with the provider's code (``retryable`` for rate limits and
transport errors). Secrets never reach a log line: only codes and the number's last 4 digits.
The local sandbox (``bot/sandbox/sms.py``) verifies both signatures and emulates the limits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com"
ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com"
_RATE = ("LimitExceeded", "isv.BUSINESS_LIMIT_CONTROL", "Throttling")


class SmsError(Exception):
    def __init__(self, code: str, message: str = "", *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.retryable = code, retryable


class SmsProvider(Protocol):
    name: str

    async def send(self, phone: str, params: list[str]) -> str:
        """Send the configured template with ``params`` to ``phone``; returns the provider's
        id of the message (SerialNo / BizId). Raises ``SmsError``."""


def masked(phone: str) -> str:
    return "***" + phone[-4:]


# -- Tencent Cloud: TC3-HMAC-SHA256 -----------------------------------------------------------


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(*, secret_id: str, secret_key: str, host: str, body: str,
                      timestamp: int, service: str = "sms") -> str:
    """The ``Authorization`` header of a POST JSON call (WORKFLOW_APIS.md §5.1, steps 1–4)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = ("POST\n/\n\n" f"content-type:application/json; charset=utf-8\nhost:{host}\n"
                 "\ncontent-type;host\n" + hashlib.sha256(body.encode("utf-8")).hexdigest())
    scope = f"{date}/{service}/tc3_request"
    to_sign = ("TC3-HMAC-SHA256\n" f"{timestamp}\n{scope}\n"
               + hashlib.sha256(canonical.encode("utf-8")).hexdigest())
    k = _hmac256(("TC3" + secret_key).encode("utf-8"), date)
    k = _hmac256(k, service)
    k = _hmac256(k, "tc3_request")
    sig = hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={sig}")


class TencentSms:
    name = "tencent"

    def __init__(self, session: aiohttp.ClientSession, *, secret_id: str, secret_key: str,
                 app_id: str, sign_name: str, template_id: str, region: str = "ap-guangzhou",
                 endpoint: str = TENCENT_ENDPOINT, clock: object = None,
                 timeout: float = 10.0) -> None:
        self.http, self.endpoint = session, endpoint.rstrip("/")
        self.secret_id, self._key = secret_id, secret_key
        self.app_id, self.sign, self.template, self.region = app_id, sign_name, template_id, region
        self.clock, self.timeout = clock, timeout

    def _now(self) -> int:
        now = self.clock.now() if self.clock is not None else datetime.now(UTC)  # type: ignore[attr-defined]
        return int(now.timestamp())

    def request(self, phone: str, params: list[str]) -> tuple[dict[str, str], str]:
        """(headers, body) of one SendSms call."""
        number = phone if phone.startswith("+") else "+86" + phone
        body = json.dumps({"PhoneNumberSet": [number], "SmsSdkAppId": self.app_id,
                           "SignName": self.sign, "TemplateId": self.template,
                           "TemplateParamSet": [str(p) for p in params]},
                          ensure_ascii=False, separators=(",", ":"))
        host = urlsplit(self.endpoint).netloc
        ts = self._now()
        headers = {"Authorization": tc3_authorization(secret_id=self.secret_id,
                                                      secret_key=self._key, host=host,
                                                      body=body, timestamp=ts),
                   "Content-Type": "application/json; charset=utf-8", "Host": host,
                   "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11",
                   "X-TC-Timestamp": str(ts), "X-TC-Region": self.region}
        return headers, body

    async def send(self, phone: str, params: list[str]) -> str:
        headers, body = self.request(phone, params)
        try:
            async with self.http.post(self.endpoint + "/", data=body.encode("utf-8"),
                                      headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                doc = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SmsError("Transport", type(exc).__name__, retryable=True) from None
        resp = doc.get("Response", {}) if isinstance(doc, dict) else {}
        if "Error" in resp:
            code = str(resp["Error"].get("Code", "Error"))
            raise SmsError(code, str(resp["Error"].get("Message", "")),
                           retryable=code.startswith(_RATE))
        status = (resp.get("SendStatusSet") or [{}])[0]
        if status.get("Code") != "Ok":  # "Ok", not "OK" (WORKFLOW_APIS.md §5.1)
            code = str(status.get("Code", "NoStatus"))
            raise SmsError(code, str(status.get("Message", "")),
                           retryable=code.startswith(_RATE))
        return str(status.get("SerialNo", resp.get("RequestId", "")))


# -- Alibaba Cloud: RPC signature V1.0 (HMAC-SHA1) --------------------------------------------


def _pct(text: str) -> str:
    return quote(text, safe="~")  # space → %20, * → %2A, ~ kept


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
    digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunSms:
    name = "aliyun"

    def __init__(self, session: aiohttp.ClientSession, *, access_key_id: str,
                 access_key_secret: str, sign_name: str, template_code: str,
                 endpoint: str = ALIYUN_ENDPOINT, clock: object = None,
                 timeout: float = 10.0, keys: str = "number,what") -> None:
        self.http, self.endpoint = session, endpoint.rstrip("/")
        self.key_id, self._secret = access_key_id, access_key_secret
        self.sign, self.template = sign_name, template_code
        self.clock, self.timeout = clock, timeout
        self.keys = keys.split(",")  # the template's variable names, in params order

    def request(self, phone: str, params: list[str], *, nonce: str | None = None) -> dict[str, str]:
        now = self.clock.now() if self.clock is not None else datetime.now(UTC)  # type: ignore[attr-defined]
        q = {"AccessKeyId": self.key_id, "Action": "SendSms", "Format": "JSON",
             "PhoneNumbers": phone.removeprefix("+86"), "RegionId": "cn-hangzhou",
             "SignName": self.sign, "SignatureMethod": "HMAC-SHA1",
             "SignatureNonce": nonce or uuid.uuid4().hex, "SignatureVersion": "1.0",
             "TemplateCode": self.template,
             "TemplateParam": json.dumps(dict(zip(self.keys, (str(p) for p in params))),
                                         ensure_ascii=False, separators=(",", ":")),
             "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "Version": "2017-05-25"}
        q["Signature"] = aliyun_signature(q, self._secret)
        return q

    async def send(self, phone: str, params: list[str]) -> str:
        q = self.request(phone, params)
        url = self.endpoint + "/?" + "&".join(f"{_pct(k)}={_pct(v)}" for k, v in q.items())
        try:
            async with self.http.get(URL(url, encoded=True), timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                doc = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SmsError("Transport", type(exc).__name__, retryable=True) from None
        code = str(doc.get("Code", "NoCode")) if isinstance(doc, dict) else "NoCode"
        if code != "OK":  # "OK", upper case (WORKFLOW_APIS.md §5.2)
            raise SmsError(code, str(doc.get("Message", "")) if isinstance(doc, dict) else "",
                           retryable=code.startswith(_RATE))
        return str(doc.get("BizId", ""))
