"""The fallback (this router stays last): a greeting and help for each kind of person, and an
honest answer to whatever nobody else took — what was not understood, and what to write
instead. Never "we have noted your message": nobody would follow it up.

Group chatter not addressed to the bot gets no answer (``Turn.addressed``).
"""

from __future__ import annotations

import re

from handlers.basic import texts
from nlp.smalltalk import HELLO, HELP
from handlers.routing import Context, Router
from handlers.understanding import MAX_TEXT, Turn
from models.ticketing import staff_by_userid

router = Router("basic")

QUOTE = 30  # characters of what they wrote quoted back
_HELLO, _HELP = HELLO, HELP  # nlp/smalltalk.py (intake lets these through to here too)
_SUMMARY = re.compile(r"汇总|统计|报表|日报|周报|月报")


async def role_of(ctx: Context) -> str:
    """Which help fits the sender: customer, group (a store group), or their staff role."""
    ev = ctx.event
    if ev.channel == "kf":
        return "customer"
    staff = await staff_by_userid(ctx.session, ev.sender)
    roles = set(staff.roles or []) if staff is not None and staff.active else set()
    for role in ("finance", "manager", "dispatcher", "technician"):
        if role in roles or (role == "dispatcher" and "supervisor" in roles):
            return role
    if staff is not None and staff.active and (roles or staff.departments or staff.tags):
        return "staff"  # 技术总监, 店长, 客服, 质检部 …: workflow owners and approvers
    if ev.channel == "aibot" and ev.payload.get("chat_type") == "group":
        return "group"
    return "customer"


@router.event("enter_agent")
@router.event("enter_chat", channel="aibot")
async def on_enter(ctx: Context) -> None:
    ctx.reply(texts.HELLO + texts.HELP[await role_of(ctx)])


@router.message(msgtype=("text", "mixed"), when=lambda e, t: t is None or t.addressed)
async def on_text(ctx: Context) -> None:
    turn: Turn | None = ctx.turn
    text = turn.text if turn is not None else (ctx.event.text or "").strip()
    if not text and ctx.event.payload.get("images"):
        await on_media(ctx)
        return
    if not text:
        ctx.reply(texts.EMPTY_MESSAGE)
        return
    if len(text) > MAX_TEXT:
        ctx.reply(texts.TOO_LONG)
        return
    role = await role_of(ctx)
    a = turn.analysis if turn is not None else None
    if _HELP.match(text):
        ctx.reply(texts.HELP[role])
    elif _HELLO.match(text):
        ctx.reply(texts.HELLO + texts.HELP[role])
    elif a is not None and a.entities.phones and _only_phones(text, a):
        ctx.reply(texts.PHONE_ONLY.format(phone=a.entities.phones[0]))
    elif role in ("manager", "dispatcher", "finance") and _SUMMARY.search(text):
        ctx.reply(texts.SUMMARY_NOT_YET.format(text=_quote(text)))
    else:
        ctx.reply(texts.NOT_UNDERSTOOD.format(text=_quote(text)) + texts.EXAMPLES[role])


@router.message(msgtype=("image", "voice", "video", "location", "link", "file"))
async def on_media(ctx: Context) -> None:
    kind = texts.KIND_NAMES.get(ctx.event.type, texts.KIND_DEFAULT)
    ctx.reply(texts.NON_TEXT.format(kind=kind))


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[:QUOTE] + "…"


def _only_phones(text: str, a) -> bool:
    """Nothing but phone numbers (and separators) in the message."""
    rest = text
    for span in a.spans:
        if span.kind == "phone":
            rest = rest.replace(a.text[span.start:span.end], "")
    return not re.sub(r"[\s,，;；:：。.+\-()（）电话手机号码是]", "", rest)
