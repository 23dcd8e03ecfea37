"""One conversation-state mechanism: "this person's next answer belongs to X".

A feature that asks a person something records what it awaits (``expect``): who (``person``:
a member's userid or a 微信客服 customer's external_userid), optionally in which conversation,
which feature owns the answer (``owner``), what it is about (``kind`` and ``ref``: a draft, a
ticket, a statement answer …) and until when. When the answer came, or the question is moot,
the feature says so (``settle``). ``expected`` lists what still awaits a person, and
``handlers/arbitration.py`` decides from it who owns a short reply (确认, 取消, a number).

Used by intake's drafts (``draft``) and completions waiting for the customer's 确认
(``completion``), dispatch's awaited 完工 report (``work_report``), settlement's statement
answers (``statement``) and missing part prices (``part_prices``); approvals will add theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Column, Index, UniqueConstraint, bindparam, delete, or_,
                        select)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from models.db import memo
from models.tables import _ID
from models.types import UTCDateTime, new_dict


class Awaiting(SQLModel, table=True):
    __tablename__ = "awaiting"
    __table_args__ = (UniqueConstraint("person", "owner", "kind", "ref",
                                       name="uq_awaiting_subject"),
                      Index("ix_awaiting_person", "person", "expires_at"),
                      Index("ix_awaiting_subject", "owner", "kind", "ref"))  # settled by anyone

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True, autoincrement=True))
    person: str = Field(max_length=128)
    conversation_key: str | None = Field(default=None, max_length=255)  # None: any of theirs
    owner: str = Field(max_length=32)  # the feature the answer belongs to
    kind: str = Field(max_length=32)
    ref: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# Read for every message: built once, with parameters (models.db.built_once says why).
_ONE = select(Awaiting).where(
    Awaiting.person == bindparam("person"), Awaiting.owner == bindparam("owner"),
    Awaiting.kind == bindparam("kind"), Awaiting.ref == bindparam("ref"))
# Everything still awaiting a person, in every conversation: a person has a handful at most,
# and one read answers every caller of the transaction, whichever conversation it asks about.
_LIVE = (select(Awaiting).where(
    Awaiting.person == bindparam("person"),
    # expired ones stay in the table (a month of unanswered statements): not read
    or_(Awaiting.expires_at.is_(None), Awaiting.expires_at > bindparam("now")))
    .order_by(Awaiting.id.desc()))


async def expect(session: AsyncSession, *, person: str, owner: str, kind: str, ref: int,
                 now: datetime, expires_at: datetime | None = None,
                 conversation_key: str | None = None,
                 data: dict[str, Any] | None = None) -> Awaiting:
    """Record (or renew) that ``person``'s answer about ``kind``/``ref`` belongs to ``owner``."""
    memo(session, "expected").clear()
    row = (await session.execute(_ONE, {"person": person, "owner": owner, "kind": kind,
                                        "ref": ref})).scalar_one_or_none()
    if row is None:
        row = Awaiting(person=person, owner=owner, kind=kind, ref=ref, created_at=now)
        session.add(row)
    row.expires_at, row.conversation_key = expires_at, conversation_key
    row.data = data or {}
    return row


async def settle(session: AsyncSession, *, owner: str, kind: str, ref: int,
                 person: str | None = None) -> None:
    """Nothing awaits about ``kind``/``ref`` any more (from ``person``, or from anyone)."""
    memo(session, "expected").clear()
    stmt = delete(Awaiting).where(Awaiting.owner == owner, Awaiting.kind == kind,
                                  Awaiting.ref == ref)
    if person is not None:
        stmt = stmt.where(Awaiting.person == person)
    # The session forgets the deleted rows too ("auto" synchronisation): sessions keep what
    # they loaded (models.db.KeepingSession), and SQLite may give a new row a deleted one's id.
    await session.execute(stmt)


async def expected(session: AsyncSession, person: str, now: datetime,
                   conversation_key: str | None = None, *, owner: str | None = None,
                   kind: str | None = None) -> list[Awaiting]:
    """What still awaits ``person`` (in ``conversation_key`` or in any conversation of theirs;
    with ``conversation_key`` None, what awaits them in any conversation only), newest first;
    expired entries are left out. One read per person in a transaction (arbitration, the
    workflow's reasons and the router that takes the reply all ask); ``expect`` and
    ``settle`` make the next call read again."""
    seen = memo(session, "expected")
    rows = seen.get(person)
    if rows is None:
        rows = seen[person] = list((await session.execute(
            _LIVE, {"person": person, "now": now})).scalars())
    return [w for w in rows if (w.conversation_key is None
                                or w.conversation_key == conversation_key)
            and (w.expires_at is None or w.expires_at > now)
            and (owner is None or w.owner == owner) and (kind is None or w.kind == kind)]
