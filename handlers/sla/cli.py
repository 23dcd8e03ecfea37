"""``python main.py calendar add --start ISO8601 --hours H [--workday HH:MM-HH:MM]
[--calendar NAME]``: when H business hours after ``--start`` end, as one ISO 8601 line with its
offset (Asia/Shanghai). Working days come from the holiday package (调休 included); a start
outside working time counts from the next opening. A year the package does not know is an error
naming the year (exit 2), as is any malformed argument."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from scheduler.calendar import KINDS, SHANGHAI, UnknownYear, business_add


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calendar", help="business-time arithmetic on the mainland calendar")
    cal_sub = p.add_subparsers(dest="calendar_command", required=True)
    add = cal_sub.add_parser("add", help="print when H business hours after --start end")
    add.add_argument("--start", required=True,
                     help="ISO 8601 instant (without an offset: Asia/Shanghai)")
    add.add_argument("--hours", required=True, help="business hours to add (may be fractional)")
    add.add_argument("--workday", default="09:00-18:00",
                     help="daily working window HH:MM-HH:MM (default 09:00-18:00)")
    add.add_argument("--calendar", default="mainland", choices=KINDS,
                     help="mainland (holidays and 调休 from chinese-calendar, default), "
                          "weekdays (Mon-Fri) or always (every day)")


def run(args: argparse.Namespace) -> int:
    try:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    except ValueError:
        print(f"--start: not an ISO 8601 time: {args.start!r}", file=sys.stderr)
        return 2
    if start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    try:
        hours = float(args.hours)
    except ValueError:
        hours = -1.0
    if not hours >= 0 or hours == float("inf"):
        print(f"--hours: not a number of hours >= 0: {args.hours!r}", file=sys.stderr)
        return 2
    try:
        end = business_add(start, hours, workday=args.workday, calendar=args.calendar)
    except UnknownYear as exc:
        print(f"calendar: year {exc.year} is not known: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"calendar: {exc}", file=sys.stderr)
        return 2
    print(end.astimezone(SHANGHAI).isoformat())
    return 0


def add_ops_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sla", help="SLA deliveries that failed (SMS, email, images)")
    ops = p.add_subparsers(dest="sla_command", required=True)
    d = ops.add_parser("deliveries", help="failed and unknown deliveries, newest first")
    d.add_argument("--all", action="store_true", help="every delivery, not only the failed")


async def deliveries(settings: object, args: argparse.Namespace) -> int:
    """``python main.py sla deliveries [--all]``: what operators must look at (the address is
    shown masked; the message text is not shown)."""
    from handlers.sla.courier import failed_deliveries
    from models.db import command_database

    async with command_database(settings.DATABASE_URL,  # type: ignore[attr-defined]
                                settings.SQLITE_BUSY_TIMEOUT_MS) as sm:  # type: ignore[attr-defined]
        async with sm() as s:
            rows = await failed_deliveries(s, everything=args.all)
    for d in rows:
        addr = ("***" + d.address[-4:]) if d.channel == "sms" else d.address
        print(f"{d.id}\t{d.status}\t{d.channel} → {d.recipient} ({addr})\tattempts={d.attempts}"
              f"\t{d.created_at.isoformat()}\t{(d.last_error or '')[:200]}")
    if not rows:
        print("no failed deliveries" if not args.all else "no deliveries")
    return 0
