"""``python main.py ticket show GD…``: a ticket's fields, workflow and whole audit trail, for
operators (the chat's ``记录 GD…`` shows the latest entries)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, Callable

from handlers.workflow.trail import trail_text


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ticket", help="show a ticket: fields, workflow and audit trail")
    s = p.add_subparsers(dest="ticket_command", required=True)
    show = s.add_parser("show", help="print the ticket GD… and its whole history")
    show.add_argument("number", metavar="GD…")


def run(args: argparse.Namespace, settings: Callable[[], Any]) -> int:
    return asyncio.run(_show(settings(), args.number.strip().upper()))


async def _show(settings: Any, number: str) -> int:
    from models.db import command_database
    from models.ticketing import ticket_by_number

    async with command_database(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS) as sm:
        async with sm() as session:
            ticket = await ticket_by_number(session, number)
            if ticket is None:
                print(f"no ticket {number}", file=sys.stderr)
                return 2
            fields = {k: v for k, v in ticket.model_dump().items()
                      if v not in (None, "", [], {}) and k not in ("description", "version")}
            print(f"{ticket.number}  {ticket.status}  template={ticket.template or '-'}")
            for k, v in fields.items():
                print(f"  {k}: {v}")
            print(f"  description: {ticket.description}")
            print(await trail_text(session, ticket, limit=None))
    return 0
