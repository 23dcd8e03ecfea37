"""``python main.py settle …``: the engine's file commands plus the ones over the database.

* ``settle quote|validate|guard`` and ``settle period --tickets FILE`` — the engine's own
  commands over files (``settlement/cli.py``), no settings needed.
* ``settle period --month 2026-11 [--export csv|xlsx|json] [--out DIR]`` — the month from the
  stored statements (the latest revision of each ticket completed in the month); stores the
  month's statements per provider and technician once (a re-run over the same records adds
  nothing), prints the result as JSON and writes the voucher file.
* ``settle review list [--all]`` / ``accept ID [--note …]`` / ``correct ID [--hours H]
  [--km K] [--set QTY=N] [--part 名称:数量:单价 …] [--price 名称=单价 …] [--no-parts]
  [--service S] [--note …]`` —
  finance's answer to a dispute or to a ticket that could not be priced. A correction is a
  new statement that references the old one; the bot tells both parties the difference.
* ``settle freezes [--lift ID]`` — the promotion freezes the guard made, and lifting one.

What the bot must say is handed to it as an internal event in the inbox (``settlement_issued``,
``settlement_review_accepted``), stored in the same transaction as the decision: the running
bot picks it up like any other event.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from models.keys import operator_dedupe, ticket_conversation
from models.messages import INTERNAL, Event, inbox_row
from handlers.config_file import ConfigError
from handlers.settlement.config import SettlementSetup, load_settlement
from handlers.settlement.mapping import ReportData, Unpriceable
from handlers.settlement.prices import stop_waiting
from handlers.settlement.pricing import latest_report, price, store, ticket_data
from models.queues import inbox_insert
from models.settlement import (ACCEPTED, CORRECTED, DISPUTE, DISPUTED, OPEN, PENDING, PRICED,
                               PromotionFreeze, SettlementReview, SettlementStatement,
                               StatementAck, latest_statement, period_add, reviews,
                               satisfaction_completed_between, statements_completed_between)
from models.tickets import Ticket
from handlers.settlement import cli_files as engine_cli
from handlers.settlement.engine.period import FxTable, PeriodAccumulator, PeriodResult, month_bounds
from handlers.settlement.engine.quote import Statement
from handlers.settlement.engine.ticket import Ticket as EngineTicket

DB_COMMANDS = ("review", "freezes")
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


class CommandError(Exception):
    """A refused command: printed as ``error: …``, exit code 2."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The engine's ``settle`` command plus ``review`` and ``freezes``."""
    p = engine_cli.add_parser(subparsers)
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    r = sub.add_parser("review", help="disputes and unpriced tickets for finance")
    rs = r.add_subparsers(dest="review_cmd", required=True)
    rl = rs.add_parser("list", help="open reviews (--all: every review)")
    rl.add_argument("--all", action="store_true")
    ra = rs.add_parser("accept", help="the statement stands; the party is told")
    ra.add_argument("id", type=int)
    ra.add_argument("--note", default="", help="what the party is told, in their language")
    ra.add_argument("--by", default="", help="who decided (default: the login name)")
    rc = rs.add_parser("correct", help="a corrected statement (or a first one for an unpriced "
                                       "ticket); both parties are told the difference")
    rc.add_argument("id", type=int)
    rc.add_argument("--hours", help="labour hours")
    rc.add_argument("--km", help="travel km")
    rc.add_argument("--set", action="append", default=[], metavar="QTY=N",
                    help="any quantity of the price book, e.g. units=2 or pipe_m=5")
    rc.add_argument("--part", action="append", default=[], metavar="名称:数量:单价",
                    help="parts at cost (replaces the reported parts; repeat for several)")
    rc.add_argument("--price", action="append", default=[], metavar="名称=单价",
                    help="the unit cost of a reported part that has none (keeps the other "
                         "parts as reported; repeat for several)")
    rc.add_argument("--no-parts", action="store_true", help="no parts at all")
    rc.add_argument("--service", help="the price-book service (e.g. 咖啡机维修)")
    rc.add_argument("--note", default="", help="shown to both parties with the difference")
    rc.add_argument("--by", default="")
    f = sub.add_parser("freezes", help="promotion freezes made by the guard")
    f.add_argument("--lift", type=int, metavar="ID", help="lift this freeze")
    f.add_argument("--by", default="")
    return p


def run(args: argparse.Namespace, settings: Callable[[], Any]) -> int:
    """Run a parsed ``settle`` command. ``settings()`` is asked only when the database is."""
    if args.settle_cmd not in DB_COMMANDS and not (args.settle_cmd == "period"
                                                   and not args.tickets):
        return engine_cli.run(args)
    s = settings()
    try:
        return asyncio.run(_with_db(s.DATABASE_URL, s.SQLITE_BUSY_TIMEOUT_MS, args))
    except (CommandError, ConfigError, Unpriceable, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _with_db(url: str, busy_ms: int, args: argparse.Namespace) -> int:
    from models.db import command_database

    async with command_database(url, busy_ms) as sm:
        if args.settle_cmd == "period":
            setup = await asyncio.to_thread(load_settlement, None, args.book)
            fx = FxTable.from_records(engine_cli.load_json(args.fx)) if args.fx else None
            result, stored, open_reviews = await period_from_db(
                sm, setup, args.month, currency=args.currency, fx=fx, now=datetime.now(UTC))
            print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
            engine_cli.write_export(result, args)
            print(f"{'stored' if stored else 'already stored'}: settlement of {args.month} "
                  f"({result.tickets} tickets)", file=sys.stderr)
            if open_reviews:
                print(f"warning: {open_reviews} statement(s) of {args.month} are under review "
                      f"(settle review list)", file=sys.stderr)
            return 0
        by = getattr(args, "by", "") or getpass.getuser()
        if args.settle_cmd == "freezes":
            for line in await freezes(sm, lift=args.lift, by=by, now=datetime.now(UTC)):
                print(line)
            return 0
        if args.review_cmd == "list":
            for line in await review_lines(sm, open_only=not args.all):
                print(line)
            return 0
        if args.review_cmd == "accept":
            await review_accept(sm, args.id, by=by, note=args.note, now=datetime.now(UTC))
            print(f"review #{args.id}: the statement stands; the party will be told")
            return 0
        setup = await asyncio.to_thread(load_settlement)
        row = await review_correct(sm, setup, args.id, by=by, note=args.note,
                                   now=datetime.now(UTC), **overrides(args))
        print(json.dumps(row.statement, ensure_ascii=False, indent=2))
        print(f"review #{args.id}: statement {row.statement_id} (revision {row.revision}) "
              f"stored; both parties will be told", file=sys.stderr)
        return 0


# -- the month ------------------------------------------------------------------------------


def period_key(result: PeriodResult) -> str:
    """Deterministic key of a stored month: the engine's id plus every figure of the result."""
    text = json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True)
    return "pk-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


async def accumulate_stored(session: Any, acc: PeriodAccumulator, start: datetime, end: datetime
                            ) -> tuple[list[SettlementStatement], list[Statement]]:
    """Add to ``acc`` the current statement of every ticket completed in [start, end), with the
    satisfaction its customer rated after completion: the stored rows and the statements ``acc``
    kept. What ``settle period`` and the finance day export both read."""
    rated = await satisfaction_completed_between(session, start, end)
    rows = await statements_completed_between(session, start, end)
    kept = []
    for row in rows:
        data = dict(row.ticket_input)
        if row.ticket_id in rated:
            data["satisfaction"] = rated[row.ticket_id]
        st = Statement.from_dict(row.statement)
        if acc.add_statement(EngineTicket.from_dict(data), st) is not None:
            kept.append(st)
    return rows, kept


async def period_from_db(sm: Any, setup: SettlementSetup, month: str, *,
                         currency: str | None = None, fx: FxTable | None = None,
                         now: datetime) -> tuple[PeriodResult, bool, int]:
    """Settle ``month`` from the stored statements; store it once. Returns the result, whether
    it was stored now, and how many of the month's statements are under an open review."""
    from models.db import write_session

    start, end = month_bounds(month)
    acc = PeriodAccumulator(setup.books, month, currency=currency, fx=fx,
                            segments=setup.config.provider_segments())
    async with sm() as s:
        _, kept = await accumulate_stored(s, acc, start, end)
        under_review = {r.statement_id for r in await reviews(s) if r.statement_id}
    result = acc.result(kept)
    key = period_key(result)
    doc = result.to_dict()
    lines = [{"period_key": key, "month": month, "scope": "provider", "subject": p["provider"],
              "provider": p["provider"], "tickets": p["tickets"], "amount": p["payable"],
              "figures": p, "created_at": now} for p in doc["providers"]]
    lines += [{"period_key": key, "month": month, "scope": "technician",
               "subject": t["technician"], "provider": t["provider"], "tickets": t["tickets"],
               "amount": t["payout"], "figures": t, "created_at": now}
              for t in doc["technicians"]]
    async with write_session(sm, None) as s:
        stored = await period_add(s, {
            "key": key, "period_id": result.id, "month": month, "currency": result.currency,
            "rules_book": result.rules_book, "tickets": result.tickets,
            "statement_ids": [st.id for st in kept],
            "result": doc, "created_at": now}, lines)
    return result, stored, len(under_review & {st.id for st in kept})


# -- reviews --------------------------------------------------------------------------------


async def review_lines(sm: Any, *, open_only: bool) -> list[str]:
    out = []
    async with sm() as s:
        for r in await reviews(s, open_only=open_only):
            ticket = await s.get(Ticket, r.ticket_id)
            row = await latest_statement(s, r.ticket_id)
            total = f"{row.gross} {row.currency}" if row else "-"
            words = " / ".join(r.words.splitlines())
            out.append(f"#{r.id}\t{r.kind}\t{r.status}\t{ticket.number if ticket else r.ticket_id}"
                       f"\t{r.party or '-'}\t{r.who or '-'}\t{total}\t{words}")
    return out or ["no open reviews" if open_only else "no reviews"]


def _decimal(text: str, what: str) -> Decimal:
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        raise CommandError(f"{what}: not a number: {text!r}") from None
    if not d.is_finite() or d < 0:
        raise CommandError(f"{what}: must be a number >= 0, got {text!r}")
    return d


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``review correct`` options as keyword arguments of ``review_correct``."""
    quantities: dict[str, Decimal] = {}
    if args.hours is not None:
        quantities["hours"] = _decimal(args.hours, "--hours")
    if args.km is not None:
        quantities["km"] = _decimal(args.km, "--km")
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set {item!r}: expected QTY=N")
        quantities[name.strip()] = _decimal(value, f"--set {name}")
    parts = None
    if args.no_parts:
        parts = []
    elif args.part:
        parts = []
        for item in args.part:
            bits = item.rsplit(":", 2)
            if len(bits) != 3 or not bits[0].strip():
                raise CommandError(f"--part {item!r}: expected 名称:数量:单价")
            parts.append({"name": bits[0].strip(), "qty": str(_decimal(bits[1], "--part qty")),
                          "unit_cost": str(_decimal(bits[2], "--part unit cost"))})
    prices: dict[str, str] = {}
    for item in args.price:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise CommandError(f"--price {item!r}: expected 名称=单价")
        prices[" ".join(name.split())] = str(_decimal(value, f"--price {name.strip()}"))
    return {"quantities": quantities, "parts": parts, "service": args.service,
            "prices": prices}


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f")


async def _notify(session: Any, type_: str, payload: dict[str, Any], ticket_id: int,
                  dedupe: str, now: datetime) -> None:
    """Hand the bot what to say, in this transaction (it picks up the inbox row like any).
    Due at once whatever the bot's clock: this command's clock is not the bot's, and a bot
    whose clock lags would otherwise leave the row waiting."""
    row = inbox_row(Event(INTERNAL, "event", type_, "", ticket_conversation(ticket_id), dedupe,
                          payload), now)
    row["next_attempt_at"] = DUE_AT_ONCE
    await inbox_insert(session, [row])


async def _open_review(session: Any, review_id: int) -> SettlementReview:
    review = await session.get(SettlementReview, review_id)
    if review is None:
        raise CommandError(f"no review #{review_id}")
    if review.status != OPEN:
        raise CommandError(f"review #{review_id} is {review.status} already")
    return review


async def review_accept(sm: Any, review_id: int, *, by: str, note: str, now: datetime) -> None:
    from models.db import write_session

    async with write_session(sm, None) as s:
        review = await _open_review(s, review_id)
        if review.kind != DISPUTE:
            raise CommandError(f"review #{review_id} is an unpriced ticket: price it with "
                               f"`settle review correct {review_id} --service …`")
        review.status, review.resolved_at, review.resolved_by = ACCEPTED, now, by
        review.note = note or None
        # The statement stands: the party who disputed it may now confirm it (by text; their
        # card already shows the dispute).
        ack = (await s.execute(select(StatementAck).where(
            StatementAck.statement_id == review.statement_id,
            StatementAck.party == review.party))).scalar_one_or_none()
        if ack is not None and ack.status == DISPUTED:
            ack.status, ack.answered_at = PENDING, None
        await _notify(s, "settlement_review_accepted", {"review_id": review.id},
                      review.ticket_id, operator_dedupe("review_accepted", f"{review.id}:{now.isoformat()}"),
                      now)


async def review_correct(sm: Any, setup: SettlementSetup, review_id: int, *, by: str, note: str,
                         now: datetime, quantities: dict[str, Decimal] | None = None,
                         parts: Sequence[dict[str, str]] | None = None,
                         service: str | None = None,
                         prices: dict[str, str] | None = None) -> SettlementStatement:
    """Finance's correction: a new statement referencing the current one (or, for a ticket
    that could not be priced, its first statement). ``parts`` replaces the parts; ``prices``
    (name → unit cost) prices parts reported without one. Returns the stored row."""
    from models.db import write_session

    quantities = quantities or {}
    async with write_session(sm, None) as s:
        review = await _open_review(s, review_id)
        ticket = await s.get(Ticket, review.ticket_id)
        if ticket is None:
            raise CommandError(f"review {review_id}: ticket {review.ticket_id} no longer exists")
        current = await latest_statement(s, ticket.id)
        if current is not None:
            data = dict(current.ticket_input)
            if service:
                data["service"] = service
            if prices:
                data["parts"] = [p | {"cost": prices[p["name"]]} if p["name"] in prices else p
                                 for p in data.get("parts") or []]
        else:
            report = await latest_report(s, ticket.id)
            reported = [dict(p) for p in (report.parts if report else [])]
            for p in reported:
                name = " ".join(str(p.get("name") or "").split())
                if name in (prices or {}):
                    p["unit_cost"] = prices[name]  # type: ignore[index]
            data = await ticket_data(s, setup, ticket, service=service, report=ReportData(
                report.labour_minutes if report else 0,
                reported if parts is None else list(parts),
                report.travel_km if report else None))
        data["quantities"] = dict(data.get("quantities") or {}) | {
            k: _num(v) for k, v in quantities.items()}
        if parts is not None:
            data["parts"] = [{"sku": p["name"], "name": p["name"], "cost": p["unit_cost"],
                              "qty": p["qty"]} for p in parts]
        st, fp = await price(s, setup, data, corrects=current, keep_basis=current is not None)
        if current is not None and st.to_dict()["lines"] == current.statement["lines"] \
                and data == current.ticket_input:
            raise CommandError("nothing would change: give --hours, --km, --set, --part or "
                               "--service, or let it stand with "
                               f"`settle review accept {review_id}`")
        row = await store(s, ticket, data, st, fp, now=now, previous=current,
                          review_id=review.id)
        if row is None:
            raise CommandError(f"ticket {ticket.number} changed meanwhile; run it again")
        # this review, and any other still open about the statement just replaced
        others = [r for r in await reviews(s) if current is not None
                  and r.statement_id == current.statement_id and r.id != review.id]
        for r in [review, *others]:
            r.status = CORRECTED if current is not None else PRICED
            r.resolved_at, r.resolved_by, r.note = now, by, note or None
            r.result_statement_id = row.statement_id
        await stop_waiting(s, ticket.id, now)  # nobody is asked for its part prices now
        await _notify(s, "settlement_issued", {"statement_id": row.statement_id, "note": note},
                      ticket.id, operator_dedupe("issued", row.statement_id), now)
        await s.flush()
        await s.refresh(row)
        return row


# -- freezes ---------------------------------------------------------------------------------


async def freezes(sm: Any, *, lift: int | None, by: str, now: datetime) -> list[str]:
    from models.db import write_session

    if lift is not None:
        async with write_session(sm, None) as s:
            f = await s.get(PromotionFreeze, lift)
            if f is None or f.lifted_at is not None:
                raise CommandError(f"no active freeze #{lift}")
            f.lifted_at, f.lifted_by = now, by
        return [f"freeze #{lift} lifted: promotions apply again to {f.scope} {f.value}"]
    async with sm() as s:
        rows = list((await s.execute(select(PromotionFreeze).order_by(PromotionFreeze.id)))
                    .scalars())
    return [f"#{f.id}\t{f.scope}\t{f.value}\t{'lifted' if f.lifted_at else 'active'}\t"
            f"{f.frozen_at.isoformat()}\t{f.reason}" for f in rows] or ["no freezes"]
