"""The minimal conversation: answer a text so the path is visible end to end.

Chat intake (tickets) will take over text messages; this router stays last as the fallback.
"""

from __future__ import annotations

from handlers import voice
from handlers.routing import Context, Router

router = Router("basic")

MAX_ECHO = 200  # characters of the user's text quoted back


def _strip_mention(text: str) -> str:
    """AI-bot group messages start with "@BotName "; drop it."""
    text = text.strip()
    if text.startswith("@"):
        head, _, rest = text.partition(" ")
        return rest.strip() if rest else ""
    return text


@router.event("enter_agent")
@router.event("enter_chat", channel="aibot")
async def on_enter(ctx: Context) -> None:
    ctx.reply(voice.GREETING)


@router.message(msgtype=("text", "mixed"))
async def on_text(ctx: Context) -> None:
    text = _strip_mention(ctx.event.text or "")
    if not text:
        ctx.reply(voice.EMPTY_MESSAGE)
    elif len(text) > 2000:
        ctx.reply(voice.TOO_LONG)
    else:
        quoted = text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"
        ctx.reply(voice.RECEIVED.format(text=quoted))


@router.message(msgtype=("image", "voice", "video", "location", "link", "file"))
async def on_media(ctx: Context) -> None:
    ctx.reply(voice.NON_TEXT_RECEIVED.format(kind=voice.KIND_NAMES.get(ctx.event.type, voice.KIND_DEFAULT)))
