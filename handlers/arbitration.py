"""Who owns a short reply — 确认, 修改, 取消, a work report's details — decided in one place
from what the conversation awaits (``models/conversation.py``), not from router order.

A short reply is a whole-message reply word (config/intake.yaml: 确认 / 修改 / 取消 …) or, from a
technician, 完工 details without the word 完工 ("工时1.5小时 配件 …"). The person's live
``Awaiting`` entries are looked at in this order of precedence; the first that takes the reply
owns it:

=============  ========================  ==========  ===========================================
kind           set by                    owner       takes
=============  ========================  ==========  ===========================================
draft          intake, while a report    intake      every reply word, in that conversation
               is being filled in                    (confirm / edit / cancel the draft)
part_prices    settlement, when a part   settlement  prices without a labour time ("水泵 180元",
               has no price                          "180元"): the technician's, then finance's
work_report    dispatch, after 完工       dispatch    the awaited 完工 details
               without details
completion     intake, when the ticket   intake      确认 (closes the ticket; settlement then
               is resolved                           takes it as the statement's confirmation)
statement      settlement, when a        settlement  确认 (confirms the statement)
               statement is sent
=============  ========================  ==========  ===========================================

Nothing awaiting, or no entry takes the reply: no owner, and the message goes by intent
(intake), as any other. Explicit words that name their feature (确认账单, 异议 …, 接单 GD…) are
not short replies: their routers take them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.routing import Context
from models.conversation import Awaiting, expected

#: (kind, whether an entry of that kind takes the turn), highest precedence first
PRECEDENCE: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("draft", lambda t: t.word is not None),
    ("part_prices", lambda t: t.command is not None and t.command.kind == "details"
     and t.command.labour_minutes is None and bool(t.command.parts)),
    ("work_report", lambda t: t.command is not None and t.command.kind == "details"),
    ("completion", lambda t: t.word == "confirm"),
    ("statement", lambda t: t.word == "confirm"),
)


def is_short_reply(turn: Any) -> bool:
    return turn is not None and (turn.word is not None or (
        turn.command is not None and turn.command.kind == "details"))


async def arbitrate(ctx: Context) -> Awaiting | None:
    """The entry that owns this turn's short reply (and set ``turn.owner``), or None."""
    turn = ctx.turn
    if not is_short_reply(turn) or not turn.addressed:
        return None
    waiting = await expected(ctx.session, ctx.event.sender, ctx.clock.now(),
                             ctx.event.conversation_key)
    for kind, takes in PRECEDENCE:
        entry = next((w for w in waiting if w.kind == kind), None)
        if entry is not None and takes(turn):
            turn.owner, turn.awaiting = entry.owner, entry
            return entry
    return None


async def arbiter(event: Any, ctx: Context, nxt: Callable[[], Any]) -> bool:
    """Middleware: decide the owner of a short reply before any router looks at it."""
    await arbitrate(ctx)
    return await nxt()
