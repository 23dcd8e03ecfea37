"""The SMS this room needs: one send per delivery row, raising on failure.

A thin interface over the project's SMS providers (``bot/sms.py``, built for the SLA room):
Chinese providers send registered templates with variables, so an order's appointment goes out
with its own template (``orders.sms_template_id`` in config/api.yaml; variables: order number,
time, ticket number) through the same provider settings (``SMS_PROVIDER`` …). Without a provider
and a template no SMS is promised (an order's answer says ``"sms": "none"``); the sandbox
records what it would send.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("handlers.board.sms")


class SmsError(Exception):
    """The provider refused or failed; the delivery is retried with backoff."""


class SmsSender(Protocol):
    async def send(self, phone: str, text: str, params: list[str], *, key: str) -> None:
        """Send to ``phone`` (``text`` as read, ``params`` the template's variables); ``key``
        is stable per message. Raises ``SmsError``."""


@dataclass
class ProviderSms:
    """The project's provider (``bot/sms.py`` SmsProvider, bound to the appointment template)."""

    provider: Any

    async def send(self, phone: str, text: str, params: list[str], *, key: str) -> None:
        from bot.sms import SmsError as ProviderError

        try:
            ref = await self.provider.send(phone, params)
        except ProviderError as exc:
            raise SmsError(f"sms {exc.code}") from None
        log.info("appointment SMS %s sent (%s)", key, ref)


@dataclass
class RecordingSms:
    """The sandbox's SMS: kept in memory and logged (the phone masked), never sent."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    fail_next: int = 0  # tests: this many sends fail first

    async def send(self, phone: str, text: str, params: list[str], *, key: str) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise SmsError("sandbox: injected failure")
        if any(k == key for _, _, k in self.sent):
            return  # the same message again: a provider with a request id would drop it too
        self.sent.append((phone, text, key))
        log.info("sandbox SMS to %s****%s: %s", phone[:3], phone[-4:], text)
