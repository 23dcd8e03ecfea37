"""What settlement awaits in a conversation (``models/conversation.py``): a party's answer to
a statement, one entry per pending ``settlement_ack`` row. ``handlers/arbitration.py`` gives a
bare 确认 to settlement while such an entry is live (``Turn.owner == OWNER``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.conversation import expect, settle
from models.settlement import StatementAck

OWNER, STATEMENT = "settlement", "statement"  # a statement awaits the party's answer


async def await_answer(session: Any, ack: StatementAck, *, now: datetime,
                       until: datetime) -> None:
    """``ack.who``'s 确认 belongs to this statement until they answer (or ``until``)."""
    await expect(session, person=ack.who, owner=OWNER, kind=STATEMENT, ref=ack.id, now=now,
                 expires_at=until)


async def stop_awaiting(session: Any, ack: StatementAck) -> None:
    """The party answered, or the statement was replaced: nothing awaits about ``ack`` now."""
    await settle(session, owner=OWNER, kind=STATEMENT, ref=ack.id)
