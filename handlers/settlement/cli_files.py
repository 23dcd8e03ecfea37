"""Command line: ``settle quote|period|validate|guard``.

Wire into a larger CLI with :func:`add_parser` + :func:`run`; standalone use:
``python -m handlers.settlement.cli_files settle quote --book config/pricebooks --ticket t.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from handlers.settlement.engine.books import BookError
from handlers.settlement.engine.guard import CancelEvent, evaluate_guard
from handlers.settlement.loader import iter_jsonl, load_books, load_json
from handlers.settlement.engine.period import FxTable, SettlementError, settle_period
from handlers.settlement.engine.quote import QuoteError, diff_to_dict, quote, quote_ticket
from handlers.settlement.engine.ticket import Ticket, TicketError

DEFAULT_BOOKS = "config/pricebooks"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``settle`` command (with subcommands) on an argparse subparsers object."""
    p = subparsers.add_parser("settle", help="price tickets and settle periods")
    sub = p.add_subparsers(dest="settle_cmd", required=True)

    q = sub.add_parser("quote", help="price one ticket and print its statement as JSON")
    q.add_argument("--book", default=DEFAULT_BOOKS, help="book file or directory (default: %(default)s)")
    q.add_argument("--ticket", required=True, help="ticket JSON file")
    q.add_argument("--compare-book", help="also price under this book file and print a line-by-line diff")

    pr = sub.add_parser("period", help="settle one month of tickets")
    pr.add_argument("--month", required=True, help="YYYY-MM")
    pr.add_argument("--tickets", help="JSON-lines file, one ticket per line (required here; "
                    "`python main.py settle period` without it reads the database)")
    pr.add_argument("--book", default=DEFAULT_BOOKS, help="book file or directory (default: %(default)s)")
    pr.add_argument("--fx", help="JSON list of dated FX rates [{base, quote, date, rate}]")
    pr.add_argument("--currency", help="settlement currency (default: the period book's)")
    pr.add_argument("--export", choices=("csv", "xlsx", "json"), help="write vouchers in this format")
    pr.add_argument("--out", default=".", help="output directory for --export (default: %(default)s)")

    v = sub.add_parser("validate", help="validate price books")
    v.add_argument("--book", default=DEFAULT_BOOKS)

    g = sub.add_parser("guard", help="decide promotion freezes from cancel/refund events (JSON-lines)")
    g.add_argument("--events", required=True)
    g.add_argument("--max-events", type=int, default=3)
    g.add_argument("--window-days", type=int, default=30)
    g.add_argument("--region-threshold", type=int, default=5)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``settle`` command; returns the process exit code."""
    try:
        return _COMMANDS[args.settle_cmd](args)
    except (BookError, QuoteError, TicketError, SettlementError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _print(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _quote(args: argparse.Namespace) -> int:
    books = load_books(args.book)
    ticket = Ticket.from_dict(load_json(args.ticket))
    st = quote_ticket(ticket, books)
    if not args.compare_book:
        _print(st.to_dict())
        return 0
    (other,) = load_books(args.compare_book)[:1]
    new = quote(ticket, other)
    _print({"statement": st.to_dict(), "recomputed": new.to_dict(), "diff": diff_to_dict(st, new)})
    return 0


def _period(args: argparse.Namespace) -> int:
    if not args.tickets:
        raise ValueError("--tickets FILE is required (python main.py settle period reads the database)")
    books = load_books(args.book)
    fx = FxTable.from_records(load_json(args.fx)) if args.fx else None
    result = settle_period(iter_jsonl(args.tickets), books, args.month, currency=args.currency, fx=fx)
    _print(result.to_dict())
    write_export(result, args)
    return 0


def write_export(result: Any, args: argparse.Namespace) -> Path | None:
    """Write the vouchers of ``result`` as ``--export`` into ``--out`` (if asked); the path."""
    from . import export

    if not args.export:
        return None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"settlement-{args.month}.{args.export}"
    {"csv": export.export_csv, "xlsx": export.export_xlsx, "json": export.export_json}[args.export](result, path)
    print(f"wrote {path}", file=sys.stderr)
    return path


def _validate(args: argparse.Namespace) -> int:
    for b in load_books(args.book):
        print(f"ok {b.source}: {b.label} ({len(b.rules)} rules, from {b.effective_from.date()})")
    return 0


def _guard(args: argparse.Namespace) -> int:
    events = [
        CancelEvent(str(e["address"]), str(e.get("region", "")), datetime.fromisoformat(e["at"]), e.get("kind", "cancel"))
        for e in iter_jsonl(args.events)
    ]
    d = evaluate_guard(events, max_events=args.max_events, window_days=args.window_days,
                       region_threshold=args.region_threshold)
    _print({"addresses": [{"address": a, "reason": r} for a, r in d.addresses],
            "regions": [{"region": g, "reason": r} for g, r in d.regions]})
    return 0


_COMMANDS = {"quote": _quote, "period": _period, "validate": _validate, "guard": _guard}


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m handlers.settlement.cli_files settle ...``."""
    parser = argparse.ArgumentParser(prog="settlement")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
