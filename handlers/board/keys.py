"""API keys: ``wo_<prefix>_<secret>``, printed once, stored as the SHA-256 of the whole key.

The prefix (8 random hex characters) finds the row; the hash is compared in constant time.
A key is 160 random bits, so a plain SHA-256 is enough (a password hash's slowness guards
guessable secrets, which these are not). Scopes name what an integration may do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.api import ApiKey

SCOPES: Final[dict[str, str]] = {
    "tickets:read": "read tickets (list, one ticket)",
    "tickets:write": "create tickets, add notes, cancel or close them",
    "orders:write": "send e-commerce orders that need installation",
    "statements:read": "read statements and the month's vouchers",
    "technicians:read": "read technicians (no phone numbers)",
    "finance:read": "read the daily finance exports",
    "webhooks:read": "read the webhook delivery log",
}


class KeyError_(ValueError):
    """A key cannot be created as asked (bad name, unknown scope, name taken)."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """(prefix, whole key)."""
    prefix = secrets.token_hex(4)
    return prefix, f"wo_{prefix}_{secrets.token_urlsafe(20)}"


def parse_scopes(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else text.replace(" ", ",").split(",")
    scopes = sorted({s.strip() for s in items if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise KeyError_(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not scopes:
        raise KeyError_("give at least one scope: " + ", ".join(SCOPES))
    return scopes


async def create_key(session: AsyncSession, name: str, scopes: list[str], *, now: datetime,
                     rate_per_minute: int = 600) -> str:
    """Store a new key for ``name``; returns the key (shown once, never stored)."""
    from handlers.board.config import safe_name

    if not safe_name(name):
        raise KeyError_(f"name {name!r}: use a-z, 0-9, '-' and '_' (up to 64)")
    if (await session.execute(select(ApiKey).where(ApiKey.name == name))).scalar_one_or_none():
        raise KeyError_(f"a key named {name!r} exists (revoke it first)")
    prefix, key = new_key()
    session.add(ApiKey(name=name, prefix=prefix, key_hash=key_hash(key), scopes=scopes,
                       rate_per_minute=rate_per_minute, created_at=now))
    await session.flush()
    return key


async def revoke_key(session: AsyncSession, name: str, *, now: datetime) -> bool:
    row = (await session.execute(select(ApiKey).where(ApiKey.name == name))).scalar_one_or_none()
    if row is None:
        return False
    # The name is freed for a new key; the row stays (audits name it) under a revoked name.
    row.revoked_at = now
    row.name = f"{name}~revoked~{row.id}"[:64]
    await session.flush()
    return True


async def find_key(session: AsyncSession, presented: str) -> ApiKey | None:
    """The active key ``presented`` is, or None (unknown, malformed, revoked)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "wo" or len(parts[1]) != 8:
        return None
    row = (await session.execute(select(ApiKey).where(ApiKey.prefix == parts[1])
                                 )).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row if hmac.compare_digest(row.key_hash, key_hash(presented)) else None
