"""What the sandbox knows: its limits, the people on the page, and the state of every API.

The errcodes below are the sandbox's own where WeCom's documentation names none; the limits are
WeCom's (PROTOCOL.md).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

TOKEN_TTL = 7200
RESPONSE_CODE_TTL = timedelta(hours=72)
RESPONSE_URL_TTL = timedelta(hours=1)
CALLBACK_TIMEOUT = 5.0
CALLBACK_DELIVERIES = 4  # the first try and three retries
# Errcodes the sandbox uses where WeCom's documentation names none (noted in PROTOCOL.md terms).
ERR_RESPONSE_CODE = 40191  # response_code spent, expired or unknown
ERR_RESPONSE_URL = 40192  # response_url spent, expired or unknown
ERR_KF_ALLOWANCE = 40193  # 微信客服: a 6th message, or one 48 h after the customer last wrote
KF_REPLIES, KF_WINDOW = 5, timedelta(hours=48)

RATE_LIMITS = {
    "app": ((60, 30), (3600, 1000)),
    "aibot": ((60, 30), (3600, 1000)),
    "webhook": ((60, 20),),
}


@dataclass
class Persona:
    """Someone on the page (``personas.py`` reads them from ``config/sandbox/``)."""

    id: str
    name: str
    role: str  # customer | store | technician | manager | finance
    channel: str  # app | aibot_single | aibot_group | kf: where they write first
    userid: str  # member userid, or external_userid for kf
    chat_id: str = ""
    chat_name: str = ""  # the group's name
    webhook_key: str = ""  # the group's 消息推送 robot (its posts are part of the group)
    detail: str = ""  # one more line on the page: provider, skills, regions …
    example: str = ""  # the composer's placeholder


@dataclass(frozen=True)
class Chat:
    """One chat a persona sees: ``id`` is the sandbox's conversation (``app:lishifu``)."""

    id: str
    kind: str  # kf | aibot | app | webhook
    label: str
    writable: bool


OPEN_KFID = "wkSANDBOXKF0001"
BOT_NAME = "工单助手"


@dataclass
class Fault:
    errcode: int | None = None
    http_status: int | None = None
    delay: float = 0.0  # stall before handling the call
    times: int = 1
    answer_after: float = 0.0  # handle the call (deliver), then stall before answering


@dataclass
class ChatLine:
    id: int
    conversation: str
    sender: str  # "bot" or a display name
    kind: str  # text | markdown | card | event
    content: Any
    ts: float
    task_id: str = ""


@dataclass
class Console:
    """The corp's admin console as the setup doctor sees it through the APIs (``admin.py``)."""

    hidden: set[str] = field(default_factory=set)  # members outside the app's visible range
    members: dict[str, str] = field(default_factory=dict)  # extra members: userid → name
    kf_accounts: list[dict[str, Any]] | None = None  # None: the one sandbox account
    forbidden: set[str] = field(default_factory=set)  # "kf", "approval": not granted to the app
    untrusted_ip: str | None = None  # 60020 for calls from "here"
    untrusted_gettoken: bool = False  # …gettoken included
    expired_tokens: bool = False  # gettoken issues tokens that have already expired
    date_offset: timedelta = timedelta(0)  # WeCom's clock minus ours, in its Date headers
    app_closed: bool = False  # the app was disabled (停用) in the console


@dataclass
class SandboxState:
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    response_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_times: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    lines: list[ChatLine] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_id → card state
    kf_msgs: list[dict[str, Any]] = field(default_factory=list)
    kf_allowance: dict[str, dict[str, Any]] = field(default_factory=dict)  # ext → last, sent
    appchats: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # message/send's duplicate check: request JSON → when it was first accepted, and the answer
    dup_seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # requests not delivered again
    # What the admin console says (admin.py), and the switches that make it say it wrong.
    console: Console = field(default_factory=Console)

