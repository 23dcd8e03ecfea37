"""``config/api.yaml``: webhooks, the SMS to customers of e-commerce orders, web forms, the
daily finance export and the API's defaults — checked at start (file:line: field: message)."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from handlers.config_file import CONFIG_DIR, ROOT, ConfigError, load_yaml_model

API_PATH: Final = CONFIG_DIR / "api.yaml"
EVENTS: Final = ("ticket.status_changed", "statement.issued")
_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ApiConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Webhook(_M):
    """One receiver: status changes and statements of the tickets of ``integration`` (the API
    key's name they came in with; ``"*"``: every ticket), signed with ``secret``."""

    name: str = Field(pattern=_NAME)
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500)
    secret: SecretStr = Field(min_length=16)  # never logged
    integration: str = "*"
    events: tuple[Literal["ticket.status_changed", "statement.issued"], ...] = EVENTS


class Orders(_M):
    """E-commerce orders (POST /api/orders) become ``category`` tickets; the customer gets an
    SMS with the appointment. Without a requested slot the appointment is the next day's
    ``default_start`` (Asia/Shanghai), a half-day window."""

    category: str = "install"
    default_start: time = time(9, 0)
    # the provider's template for the appointment SMS (SMS_PROVIDER …); its variables are the
    # order number, the time and the ticket number, in that order; empty: no SMS
    sms_template_id: str = Field(default="", max_length=64)
    sms_template: str = ("【工单助手】您的订单{order}已安排安装，预约时间{time}，工单号{number}。"
                         "如需改约请回复或致电客服。")


class Form(_M):
    """An embeddable web form (GET/POST /api/forms/{key}) creating tickets for ``integration``."""

    key: str = Field(pattern=_NAME)
    integration: str = Field(pattern=_NAME)
    title: str = "在线报修 / 询价"


class Finance(_M):
    """The daily export of the previous day's statements (Asia/Shanghai days) at ``at``."""

    folder: str = "data/finance"
    at: time = time(2, 0)
    enabled: bool = False


class ApiConfig(_M):
    webhooks: tuple[Webhook, ...] = ()
    orders: Orders = Orders()
    forms: tuple[Form, ...] = ()
    finance: Finance = Finance()
    poll_seconds: float = Field(default=5.0, gt=0, le=300)  # how often news is looked for
    max_attempts: int = Field(default=10, ge=1, le=50)  # deliveries parked after this many
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)  # one webhook POST
    default_rate_per_minute: int = Field(default=600, ge=1, le=100000)

    @field_validator("webhooks")
    @classmethod
    def _unique(cls, v: tuple[Webhook, ...]) -> tuple[Webhook, ...]:
        names = [w.name for w in v]
        if len(set(names)) != len(names):
            raise ValueError("webhook names must be unique")
        return v

    def webhook(self, name: str) -> Webhook | None:
        return next((w for w in self.webhooks if w.name == name), None)

    def form(self, key: str) -> Form | None:
        return next((f for f in self.forms if f.key == key), None)

    def secrets(self) -> list[str]:
        return [w.secret.get_secret_value() for w in self.webhooks]


def load_api_config(path: str | Path | None = None) -> ApiConfig:
    """``path`` (a relative one is looked for in the working directory, then in the checkout),
    default ``config/api.yaml``; a missing default file means no webhooks, forms or export
    folder beyond the defaults."""
    p = Path(path) if path else API_PATH
    if not p.is_absolute() and not p.exists():
        p = ROOT / p
    if path is None and not p.exists():
        return ApiConfig()
    return load_yaml_model(p, ApiConfig, ApiConfigError)


def safe_name(text: str) -> bool:
    return bool(re.fullmatch(_NAME, text))
