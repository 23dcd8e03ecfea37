"""The fallback: what nobody else took gets an answer here (this router stays last).

Group chatter not addressed to the bot gets none (``Turn.addressed``).
"""

from __future__ import annotations

from handlers import voice
from handlers.routing import Context, Router
from handlers.understanding import MAX_TEXT, Turn

router = Router("basic")

MAX_ECHO = 200  # characters of the user's text quoted back


@router.event("enter_agent")
@router.event("enter_chat", channel="aibot")
async def on_enter(ctx: Context) -> None:
    ctx.reply(voice.GREETING)


@router.message(msgtype=("text", "mixed"), when=lambda e, t: t is None or t.addressed)
async def on_text(ctx: Context) -> None:
    turn: Turn | None = ctx.turn
    text = turn.text if turn is not None else (ctx.event.text or "").strip()
    if not text and ctx.event.payload.get("images"):
        await on_media(ctx)
    elif not text:
        ctx.reply(voice.EMPTY_MESSAGE)
    elif len(text) > MAX_TEXT:
        ctx.reply(voice.TOO_LONG)
    else:
        quoted = text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"
        ctx.reply(voice.RECEIVED.format(text=quoted))


@router.message(msgtype=("image", "voice", "video", "location", "link", "file"))
async def on_media(ctx: Context) -> None:
    kind = voice.KIND_NAMES.get(ctx.event.type, voice.KIND_DEFAULT)
    ctx.reply(voice.NON_TEXT_RECEIVED.format(kind=kind))
