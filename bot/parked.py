"""``python main.py parked`` and ``retry``: the operator's view of parked work (events and
messages that stopped retrying and need a person)."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from models.db import command_database, write_session
from models.queues import list_parked, retry_parked


async def operate(settings: Settings, args: argparse.Namespace) -> int:
    """List what is parked, or send one row back to its queue (``args.command``)."""
    async with command_database(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS) as sm:
        if args.command == "retry":
            async with write_session(sm, None) as s:
                ok = await retry_parked(s, args.queue, args.id)
            print(f"{args.queue} {args.id}: " + ("queued again" if ok else "not parked"))
            return 0 if ok else 1
        async with sm() as s:
            for queue in ("inbox", "outbox"):
                for row in await list_parked(s, queue):
                    what = row.type if queue == "inbox" else f"{row.api} → {row.pace_key}"
                    print(f"{queue} {row.id}\t{what}\tattempts={row.attempts}\t"
                          f"{(row.last_error or '').splitlines()[0][:200]}")
        return 0
