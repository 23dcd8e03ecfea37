"""WeCom ``response_code``s of the cards we sent, in one module: each updates its card once,
within 72 hours [doc 94888, PROTOCOL.md §4]. ``message/send`` of a card returns one (the sender
calls ``remember_send_code``), and every click on the card brings a fresh one (a middleware
calls ``remember_click_code`` before any handler runs). A code is claimed (``card_code_claim``,
marked used) in the transaction that decides the update, so two decisions can never spend the
same code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.dispatch import CardCode
from models.db import insert_rows

CODE_TTL = timedelta(hours=72)


async def card_code_add(session: AsyncSession, task_id: str, userid: str, code: str,
                        source: str, now: datetime) -> None:
    """Remember a code (idempotent: a redelivered click stores nothing twice)."""
    if not (task_id and userid and code):
        return
    await insert_rows(session, CardCode.__table__, [
        {"task_id": task_id, "userid": userid, "code": code, "source": source, "issued_at": now,
         "used_at": None}], skip_conflicts_on="code")


async def remember_send_code(session: AsyncSession, payload: dict[str, Any],
                             result: dict[str, Any], now: datetime) -> None:
    """The code ``message/send`` returned for a card it delivered."""
    card = payload.get("template_card") if isinstance(payload, dict) else None
    if card and isinstance(result, dict) and result.get("response_code"):
        await card_code_add(session, card.get("task_id", ""), str(payload.get("touser", "")),
                            result["response_code"], "send", now)


async def remember_click_code(session: AsyncSession, event: Any, now: datetime) -> None:
    """The fresh code an app click brings (AI-bot clicks carry none: they are answered in the
    reply itself)."""
    card = event.card or {}
    if event.channel == "app" and card.get("response_code"):
        await card_code_add(session, card.get("task_id", ""), event.sender,
                            card["response_code"], "click", now)


async def card_code_claim(session: AsyncSession, task_id: str, userid: str,
                          now: datetime) -> str | None:
    """The newest unused, unexpired code of ``userid``'s card ``task_id``, now spent; or None."""
    for _ in range(3):  # another transaction may claim the newest one between read and update
        code_id = (await session.execute(
            select(CardCode.id).where(CardCode.task_id == task_id, CardCode.userid == userid,
                                      CardCode.used_at.is_(None),
                                      CardCode.issued_at > now - CODE_TTL)
            .order_by(CardCode.id.desc()).limit(1))).scalar_one_or_none()
        if code_id is None:
            return None
        res = await session.execute(
            update(CardCode).where(CardCode.id == code_id, CardCode.used_at.is_(None))
            .values(used_at=now).returning(CardCode.code))
        code = res.scalar_one_or_none()
        if code is not None:
            return code
    return None
