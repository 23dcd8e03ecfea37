"""Helpers of the SLA scenarios: the stack with SMS (the sandbox's Tencent endpoint) and email
(an aiosmtpd server on loopback) configured, and the chat helpers of the dispatch scenarios."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

from bot.sandbox.sms import SMS_CREDENTIALS
from handlers.staff.fileformat import import_staff, read_staff_file

GROUP = "wrSTORE3group"
REPORT = "人民广场店咖啡机坏了，请尽快来修 13812345678"


class Inbox:
    """An SMTP server on loopback keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        msg = message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                              "body": body.get_content() if body else ""})
        return "250 OK"


class MailServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.inbox.messages

    def stop(self) -> None:
        self.controller.stop()


def mail_server() -> MailServer:
    return MailServer()


def sms_settings(base: str, provider: str = "tencent") -> dict[str, str]:
    key_id, secret = SMS_CREDENTIALS[provider]
    return {"SMS_PROVIDER": provider, "SMS_SECRET_ID": key_id, "SMS_SECRET_KEY": secret,
            "SMS_APP_ID": "1400000000", "SMS_SIGN_NAME": "工单助手",
            "SMS_TEMPLATE_ID": "1234567" if provider == "tencent" else "SMS_15300000",
            "SMS_API_BASE": f"{base}/sms/{provider}"}


async def sla_stack(db_url: str, tmp_path, config: str, smtp: MailServer):
    """``tests.conftest.start_stack`` with config/sla.yaml replaced, SMS and SMTP set."""
    from datetime import UTC, datetime

    from bot.sandbox.server import Sandbox
    from main import BotRuntime
    from scheduler.clock import ManualClock
    from tests.conftest import (TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, Stack,
                                make_settings, no_sleep, shared_analyzer)

    path = tmp_path / "sla.yaml"
    path.write_text(config, encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY, aibot_token=TEST_TOKEN,
                      aibot_aes_key=TEST_AES_KEY, clock=clock)
    base = await sandbox.start()
    settings = make_settings(db_url, WECOM_API_BASE=base, SLA_CONFIG=str(path),
                             SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TLS=False,
                             SMTP_FROM="bot@example.test", **sms_settings(base))
    bot = BotRuntime(settings, clock=clock, run_worker=False, run_sender=False,
                     client_kwargs={"sleep": no_sleep},
                     analyzer=shared_analyzer())
    await bot.start()
    sandbox.bot_url = bot.url
    return Stack(bot, sandbox, clock)


async def add_staff(st, tmp_path, yaml_text: str) -> None:
    path = tmp_path / "more.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    async with st.bot.sm() as s, s.begin():
        await import_staff(s, read_staff_file(path), st.clock.now())


async def report(st, text: str = REPORT, user: str = "zhangsan"):
    """A store employee reports in the group and confirms; returns the ticket."""
    from models.tickets import Ticket

    for said in (text, "尽快", "确认"):
        await st.sandbox.aibot_says(user, said, chat_id=GROUP)
        await st.settle()
    [t] = (await st.rows(Ticket))[-1:]
    return t


def lines(st, user: str):
    return st.sandbox.delivered(f"app:{user}")


def texts_to(st, user: str) -> list[str]:
    return [ln.content for ln in lines(st, user) if ln.kind == "text"]


async def click(st, user: str, card_line, action: str) -> None:
    key = next(b["key"] for b in card_line.content["button_list"]
               if b["key"].split(":")[1] == action)
    await st.sandbox.click(user, card_line.task_id, key)
    await st.settle()


async def say(st, user: str, text: str) -> str:
    before = len(lines(st, user))
    await st.sandbox.member_says(user, text)
    await st.settle()
    return "\n".join(ln.content for ln in lines(st, user)[before:] if ln.kind == "text")
