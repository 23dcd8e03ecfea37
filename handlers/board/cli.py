"""``python main.py apikey create NAME --scopes tickets:read,tickets:write [--rate N]`` (prints
the key once), ``apikey list``, ``apikey revoke NAME``; ``python main.py finance export --day
YYYY-MM-DD`` (the daily export by hand, e.g. to catch up a day)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from handlers.board.keys import SCOPES, KeyError_, create_key, parse_scopes, revoke_key
from models.api import ApiKey


def add_parser(sub: Any) -> None:
    p = sub.add_parser("apikey", help="API keys for other systems (docs/api.md)")
    s = p.add_subparsers(dest="apikey_command", required=True)
    c = s.add_parser("create", help="create a key for an integration; printed once")
    c.add_argument("name", help="the integration (a-z, 0-9, - and _)")
    c.add_argument("--scopes", required=True,
                   help="comma-separated: " + ", ".join(SCOPES))
    c.add_argument("--rate", type=int, default=600, help="requests per minute (default 600)")
    s.add_parser("list", help="keys and their scopes (never the keys themselves)")
    r = s.add_parser("revoke", help="revoke the key of an integration")
    r.add_argument("name")
    f = sub.add_parser("finance", help="the daily finance export (docs/api.md)")
    fs = f.add_subparsers(dest="finance_command", required=True)
    e = fs.add_parser("export", help="export one day's statements to the finance folder")
    e.add_argument("--day", required=True, help="YYYY-MM-DD (Asia/Shanghai)")


async def run(settings: Any, args: argparse.Namespace) -> int:
    from models.db import command_database, write_session

    now = datetime.now(UTC)
    async with command_database(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS) as sm:
        if args.command == "finance":
            return await _finance(sm, settings, args, now)
        cmd = args.apikey_command
        if cmd == "create":
            if not 1 <= args.rate <= 100000:
                print("--rate: 1 to 100000 requests a minute", file=sys.stderr)
                return 2
            try:
                scopes = parse_scopes(args.scopes)
                async with write_session(sm, None) as s:
                    key = await create_key(s, args.name, scopes, now=now,
                                           rate_per_minute=args.rate)
            except KeyError_ as exc:
                print(str(exc), file=sys.stderr)
                return 2
            print(key)
            print(f"key for {args.name} ({', '.join(scopes)}; {args.rate}/min). It is shown "
                  "this once and stored only as a hash: keep it now.", file=sys.stderr)
            return 0
        if cmd == "revoke":
            async with write_session(sm, None) as s:
                ok = await revoke_key(s, args.name, now=now)
            print(f"{args.name}: " + ("revoked" if ok else "no such key"))
            return 0 if ok else 1
        async with sm() as s:
            rows = list((await s.execute(select(ApiKey).order_by(ApiKey.id))).scalars())
        for k in rows:
            state = "revoked" if k.revoked_at else "active"
            print(f"{k.name}\two_{k.prefix}_…\t{state}\t{','.join(k.scopes)}\t"
                  f"{k.rate_per_minute}/min")
        if not rows:
            print("no API keys (python main.py apikey create NAME --scopes …)")
        return 0


async def _finance(sm: Any, settings: Any, args: argparse.Namespace, now: datetime) -> int:
    from handlers.board.config import load_api_config
    from handlers.board.finance import export_day
    from handlers.settlement.config import load_settlement
    from models.db import write_session

    try:
        datetime.strptime(args.day, "%Y-%m-%d")
    except ValueError:
        print(f"--day: not YYYY-MM-DD: {args.day!r}", file=sys.stderr)
        return 2
    cfg = load_api_config(settings.API_CONFIG or None)
    async with write_session(sm, None) as s:
        paths = await export_day(s, cfg, load_settlement(), args.day, now)
    for p in paths:
        print(p)
    if not paths:
        print(f"{args.day}: already exported (nothing written)")
    return 0
