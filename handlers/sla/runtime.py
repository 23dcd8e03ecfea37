"""Building the SLA courier from the settings (main.py wires it): the SMS provider
(``SMS_PROVIDER``), the mailer (``SMTP_HOST``) and the WeCom client; and the digests' timers,
armed at start when missing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from bot.mail import Mailer
from bot.sms import ALIYUN_ENDPOINT, TENCENT_ENDPOINT, AliyunSms, SmsProvider, TencentSms
from handlers.sla.config import SlaConfig
from handlers.sla.courier import SlaCourier
from handlers.sla.digest import ensure_digest_timers


def sms_provider(s: Any, http: aiohttp.ClientSession, clock: Any) -> SmsProvider | None:
    key = s.SMS_SECRET_KEY.get_secret_value()
    if s.SMS_PROVIDER == "tencent":
        return TencentSms(http, secret_id=s.SMS_SECRET_ID, secret_key=key, app_id=s.SMS_APP_ID,
                          sign_name=s.SMS_SIGN_NAME, template_id=s.SMS_TEMPLATE_ID,
                          region=s.SMS_REGION, endpoint=s.SMS_API_BASE or TENCENT_ENDPOINT,
                          clock=clock)
    if s.SMS_PROVIDER == "aliyun":
        return AliyunSms(http, access_key_id=s.SMS_SECRET_ID, access_key_secret=key,
                         sign_name=s.SMS_SIGN_NAME, template_code=s.SMS_TEMPLATE_ID,
                         endpoint=s.SMS_API_BASE or ALIYUN_ENDPOINT, clock=clock)
    return None


def mailer(s: Any) -> Mailer | None:
    if not s.SMTP_HOST:
        return None
    return Mailer(host=s.SMTP_HOST, port=s.SMTP_PORT, sender=s.SMTP_FROM or s.SMTP_USERNAME,
                  username=s.SMTP_USERNAME, password=s.SMTP_PASSWORD.get_secret_value(),
                  tls=s.SMTP_TLS)


class SlaRuntime:
    """The courier and its HTTP session; ``start`` arms the digests and runs the courier."""

    def __init__(self, settings: Any, sm: Any, client: Any, clock: Any, cfg: SlaConfig,
                 gate: Any = None) -> None:
        self.settings, self.sm, self.clock, self.cfg, self.gate = settings, sm, clock, cfg, gate
        self.http = aiohttp.ClientSession()
        self.courier = SlaCourier(sm, clock, cfg, client=client,
                                  agent_id=settings.WECOM_AGENT_ID,
                                  sms=sms_provider(settings, self.http, clock),
                                  mailer=mailer(settings), gate=gate,
                                  lease=timedelta(seconds=settings.SENDER_LEASE_SECONDS))

    async def start(self, run: bool) -> None:
        if run:
            await ensure_digest_timers(self.sm, self.cfg, self.clock, self.gate)
            await self.courier.start()

    async def stop(self) -> None:
        await self.courier.stop()
        await self.http.close()
