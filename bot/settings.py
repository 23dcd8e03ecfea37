"""Settings from the environment or a ``.env`` file (pydantic-settings).

With no WeCom credentials at all the bot runs against the local WeCom sandbox; a partial set is
an error that names the missing variable. Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import secrets
import string
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.crypto import aes_key_from_encoding_key

REAL_API_BASE = "https://qyapi.weixin.qq.com"

_APP_VARS = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


# The shortest RETENTION_DAYS: finished queue rows are read up to 48 hours back
# (models/retention.py).
RETENTION_MIN_DAYS = 3


class SettingsError(Exception):
    """One line naming the variable, for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", case_sensitive=False, extra="ignore"
    )

    # Self-built app (自建应用) callback and API credentials.
    WECOM_CORP_ID: str = ""
    WECOM_AGENT_ID: int | None = None
    WECOM_SECRET: SecretStr = SecretStr("")
    WECOM_TOKEN: SecretStr = SecretStr("")
    WECOM_AES_KEY: SecretStr = SecretStr("")
    # AI bot (智能机器人) callback credentials; receiveid is "" [doc 101033].
    AIBOT_TOKEN: SecretStr = SecretStr("")
    AIBOT_AES_KEY: SecretStr = SecretStr("")

    WECOM_API_BASE: str = REAL_API_BASE
    DATABASE_URL: str = "sqlite:///data/bot.db"
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    SANDBOX_PORT: int = Field(default=8081, ge=0, le=65535)

    # How long a SQLite write waits for a lock another process holds before failing. Below
    # WeCom's 5 s: a callback that cannot store answers 503 in time and WeCom retries.
    SQLITE_BUSY_TIMEOUT_MS: int = Field(default=3000, ge=0)
    # Reject callbacks whose timestamp is further than this from now (seconds); 0 turns it off.
    CALLBACK_MAX_SKEW_SECONDS: int = Field(default=0, ge=0)
    # false: ingest-only (verify, store, ack); handlers then run in another process or later.
    RUN_WORKER: bool = True
    # false: the handlers do not send; a sender process (python main.py sender) does, woken by
    # them after each commit that queued messages.
    RUN_SENDER: bool = True
    # Handler failures before an inbox event is parked for a person.
    WORKER_MAX_ATTEMPTS: int = Field(default=5, ge=1)
    WORKER_CONCURRENCY: int = Field(default=8, ge=1)
    # How often the worker looks for new inbox events it was not woken for (seconds): events
    # stored by another process (a separate ingest process, a replica), backoffs coming due.
    WORKER_POLL_SECONDS: float = Field(default=0.2, gt=0)
    # SQLite: how long one handler transaction may hold the database's one write lock while
    # the ingest waits for it, before what it has handled commits and the rest goes on in the
    # next (the ingest waits no longer).
    WORKER_HOLD_SECONDS: float = Field(default=0.02, gt=0)
    # How often the durable-timer sweep looks for due timers (seconds).
    TIMER_SWEEP_SECONDS: float = Field(default=1.0, gt=0)
    # Days finished queue rows are kept (handled events, sent messages, fired timers;
    # models/retention.py); 0 keeps everything. At least 3: the 微信客服 48-hour reply
    # allowance counts the sent messages of the last 48 hours.
    RETENTION_DAYS: int = Field(default=7, ge=0)
    # After SIGTERM, how long a stop may take before the process ends itself (what it did not
    # finish stays queued); halfway, the log names what the stop is waiting on.
    SHUTDOWN_SECONDS: float = Field(default=25.0, gt=0)
    # Send failures before an outbox message is parked.
    SENDER_MAX_ATTEMPTS: int = Field(default=8, ge=1)
    # How long a sender holds a claimed outbox message: after a crash, another sender (or the
    # restarted process) takes it again this much later. Longer than one call with retries.
    SENDER_LEASE_SECONDS: float = Field(default=60.0, gt=0)
    # How often the sender looks for messages it was not woken for (seconds): backoffs and
    # pacing windows coming due, messages queued by another process that did not wake it.
    SENDER_POLL_SECONDS: float = Field(default=1.0, gt=0)
    # Offering rules (direct / grab, answer times); a path, for deployments that keep their
    # configuration elsewhere. Default: config/offering.yaml in the checkout.
    OFFERING_CONFIG: str = ""
    # The groups the AI bot works in and their 消息推送 robots (how news reaches a group). A
    # path; default config/groups.yaml (config/sandbox/groups.yaml in sandbox mode).
    GROUPS_CONFIG: str = ""
    # The address WeCom reaches this bot at, as typed into the console without the path
    # (``https://bot.example.com``; WeCom gets ``…/wecom/callback`` and ``…/wecom/aibot``). Only
    # the setup doctor reads it: it checks DNS, the certificate and a signed URL verification.
    PUBLIC_URL: str = ""
    # The setup doctor (python main.py doctor, at start, /healthz?verbose=1): a CA bundle to
    # trust instead of the system's when checking PUBLIC_URL's certificate (tests, staging);
    # checks that do not apply here, comma-separated (e.g. "kf" without 微信客服); whether
    # the checks run once at start (one log line).
    DOCTOR_CA_FILE: str = ""
    DOCTOR_SKIP: str = ""
    DOCTOR_AT_START: bool = True
    # WeCom 审批: approvals that go through WeCom's 审批 app name their template in
    # config/workflow.yaml (path: wecom), and the doctor checks those; this names one more for it
    # to check (the app may read it: 审批 → API → 可调用接口的应用), e.g. before it is used there.
    WECOM_APPROVAL_TEMPLATE_ID: str = ""
    # SLA policies, escalation chains, reminders, quiet hours, contacts and digests: a path;
    # default config/sla.yaml (docs/sla.md).
    SLA_CONFIG: str = ""
    # The HTTP API's webhooks, order SMS, web forms and daily finance export: a path; default
    # config/api.yaml (docs/api.md).
    API_CONFIG: str = ""
    # SMS for escalations (docs/sla.md): "" (none: SMS steps fall back to the next channel),
    # "tencent" (API 3.0 SendSms, TC3-HMAC-SHA256) or "aliyun" (dysmsapi SendSms). ID/KEY are
    # Tencent's SecretId/SecretKey or Aliyun's AccessKeyId/AccessKeySecret; APP_ID is Tencent's
    # SmsSdkAppId; TEMPLATE_ID Tencent's TemplateId or Aliyun's TemplateCode. API_BASE replaces
    # the provider's endpoint (the sandbox, a proxy).
    SMS_PROVIDER: Literal["", "tencent", "aliyun"] = ""
    SMS_SECRET_ID: str = ""
    SMS_SECRET_KEY: SecretStr = SecretStr("")
    SMS_APP_ID: str = ""
    SMS_SIGN_NAME: str = ""
    SMS_TEMPLATE_ID: str = ""
    SMS_REGION: str = "ap-guangzhou"
    SMS_API_BASE: str = ""
    # Email for escalations and digests: an SMTP server (STARTTLS unless SMTP_TLS=false);
    # without SMTP_HOST, email steps fall back to the next channel.
    SMTP_HOST: str = ""
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: SecretStr = SecretStr("")
    SMTP_FROM: str = ""
    SMTP_TLS: bool = True
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["json", "text"] = "json"

    @field_validator("WECOM_AES_KEY", "AIBOT_AES_KEY")
    @classmethod
    def _aes_key(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if raw:
            aes_key_from_encoding_key(raw)  # raises ValueError naming the problem
        return v

    @field_validator("RETENTION_DAYS")
    @classmethod
    def _retention(cls, v: int) -> int:
        if 0 < v < RETENTION_MIN_DAYS:
            raise ValueError(f"must be 0 (keep everything) or at least {RETENTION_MIN_DAYS} days "
                             "(the 微信客服 48-hour reply allowance counts the last 48 hours' "
                             "sent messages)")
        return v

    @field_validator("WECOM_API_BASE")
    @classmethod
    def _base(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public(cls, v: str) -> str:
        if v and not v.strip().startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the address WeCom calls)")
        return v.rstrip("/") if v.strip() == v else v  # spaces are the doctor's to name

    @property
    def doctor_skip(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.DOCTOR_SKIP.split(",") if p.strip())

    @model_validator(mode="after")
    def _complete(self) -> "Settings":
        present = {name: bool(self._raw(name)) for name in _APP_VARS}
        if any(present.values()) and not all(present.values()):
            missing = next(n for n, ok in present.items() if not ok)
            raise ValueError(f"{missing} is required when any of {', '.join(_APP_VARS)} is set")
        if bool(self._raw("AIBOT_TOKEN")) != bool(self._raw("AIBOT_AES_KEY")):
            missing = "AIBOT_AES_KEY" if self._raw("AIBOT_TOKEN") else "AIBOT_TOKEN"
            raise ValueError(f"{missing} is required when the other AI-bot setting is set")
        return self

    def _raw(self, name: str) -> str:
        v = getattr(self, name)
        if isinstance(v, SecretStr):
            return v.get_secret_value()
        return "" if v is None else str(v)

    @property
    def sandbox_mode(self) -> bool:
        """No WeCom credentials configured: run against the local sandbox."""
        return not self.WECOM_CORP_ID

    def with_sandbox_credentials(self) -> "Settings":
        """Fresh random credentials shared by the bot and the sandbox for one run."""
        alphabet = string.ascii_letters + string.digits
        key = lambda n: "".join(secrets.choice(alphabet) for _ in range(n))  # noqa: E731
        return self.model_copy(
            update={
                "WECOM_CORP_ID": "wwsandbox0000000001",
                "WECOM_AGENT_ID": 1000002,
                "WECOM_SECRET": SecretStr(key(43)),
                "WECOM_TOKEN": SecretStr(key(16)),
                "WECOM_AES_KEY": SecretStr(key(43)),
                "AIBOT_TOKEN": SecretStr(key(16)),
                "AIBOT_AES_KEY": SecretStr(key(43)),
                "WECOM_API_BASE": f"http://{self.HOST}:{self.SANDBOX_PORT}",
                "GROUPS_CONFIG": self.GROUPS_CONFIG or "config/sandbox/groups.yaml",
            }
        )


def load_settings(**overrides: object) -> Settings:
    """Load settings; raise ``SettingsError`` with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if loc:
            raise SettingsError(f"configuration error: {loc.upper()} {msg}") from None
        raise SettingsError(f"configuration error: {msg}") from None
