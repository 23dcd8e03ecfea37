"""The daily finance sync: at ``finance.at`` (Asia/Shanghai) the previous day's statements go to
``finance.folder`` in the voucher layout 金蝶 / 用友 import (settlement's ``build_vouchers``, the
entries dated that day) plus the statements themselves as JSON, and are kept for the API
(``GET /api/finance/exports``). A durable timer (``api:finance``) drives it, so it runs once
across replicas; a day already exported is not written again.

Payments: the bot records no payments (no payment flow exists in the project yet), so the export
holds the receivables the statements create — said in docs/api.md, not faked.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.board.config import ApiConfig
from handlers.config_file import ROOT
from models.api import FinanceExport
from models.types import LOCAL_TZ
from scheduler.timers import arm

log = logging.getLogger("handlers.board.finance")

FINANCE_KEY, FINANCE_KIND, FINANCE_CONVERSATION = "api:finance", "finance_export", "api:finance"


def next_run(cfg: ApiConfig, after: datetime) -> datetime:
    local = after.astimezone(LOCAL_TZ)
    run = datetime.combine(local.date(), cfg.finance.at, tzinfo=LOCAL_TZ)
    return run if run > local else run + timedelta(days=1)


async def arm_finance(session: Any, cfg: ApiConfig, after: datetime) -> None:
    if cfg.finance.enabled:
        await arm(session, FINANCE_KEY, next_run(cfg, after), FINANCE_KIND,
                  conversation_key=FINANCE_CONVERSATION, now=after)


def folder_of(cfg: ApiConfig) -> Path:
    p = Path(cfg.finance.folder)
    return p if p.is_absolute() else ROOT / p


async def day_files(session: Any, setup: Any, day: str) -> tuple[dict[str, str], int]:
    """{file name: content} for ``day`` (YYYY-MM-DD, Asia/Shanghai) and the statement count."""
    from handlers.settlement.cli import accumulate_stored
    from handlers.settlement.engine.period import PeriodAccumulator
    from handlers.settlement.export import COLUMNS, build_vouchers

    start = datetime.fromisoformat(day).replace(tzinfo=LOCAL_TZ)
    acc = PeriodAccumulator(setup.books, day[:7])
    rows, kept = await accumulate_stored(session, acc, start, start + timedelta(days=1))
    on = start.date()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    if kept:
        for e in build_vouchers(acc.result(kept)):
            w.writerow(dataclasses.replace(e, date=on).row())
    statements = [{"statement_id": r.statement_id, "ticket": r.ticket_number,
                   "revision": r.revision, "kind": r.kind, "corrects": r.corrects,
                   "provider": r.provider, "technician": r.technician,
                   "currency": r.currency, "net": r.net, "tax": r.tax, "gross": r.gross,
                   "completed_at": r.completed_at.isoformat()} for r in rows]
    return {f"vouchers-{day}.csv": buf.getvalue(),
            f"statements-{day}.json": json.dumps({"day": day, "statements": statements},
                                                 ensure_ascii=False, indent=2) + "\n"}, len(rows)


async def export_day(session: Any, cfg: ApiConfig, setup: Any, day: str,
                     now: datetime) -> list[Path]:
    """Write ``day``'s files (once: a day already exported is left as it is)."""
    done = set((await session.execute(select(FinanceExport.name).where(
        FinanceExport.day == day))).scalars())
    files, count = await day_files(session, setup, day)
    folder = folder_of(cfg) / day
    written = []
    for name, content in files.items():
        if name in done:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        # UTF-8 with BOM for the CSV, as settlement's export writes it for Excel/金蝶/用友.
        tmp.write_text(content, encoding="utf-8-sig" if name.endswith(".csv") else "utf-8")
        tmp.replace(path)
        session.add(FinanceExport(day=day, name=name, statements=count, content=content,
                                  created_at=now))
        written.append(path)
    log.info("finance export %s: %d statements, %d files written to %s", day, count,
             len(written), folder)
    return written


async def export_day_before(session: Any, cfg: ApiConfig, now: datetime,
                            setup: Any = None) -> list[Path]:
    if setup is None:
        from handlers.settlement.config import load_settlement

        setup = load_settlement()
    day = (now.astimezone(LOCAL_TZ) - timedelta(days=1)).date().isoformat()
    return await export_day(session, cfg, setup, day, now)
