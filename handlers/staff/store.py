"""Staff files and the database: ``import_staff`` upserts checked rows by ``userid``,
``export_staff`` writes everyone to a CSV or YAML file the importer reads back unchanged."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.staff.rows import StaffRow, staff_format
from handlers.staff.writing import staff_csv, staff_yaml
from models.tickets import Staff


async def import_staff(session: AsyncSession, rows: Sequence[StaffRow],
                       now: datetime) -> tuple[int, int]:
    """Upsert ``rows`` by ``userid`` in the caller's transaction: (created, updated).

    A row replaces every imported field of the person (an empty cell clears it); people not in
    the file are left alone, and the live location (``last_lat``/``last_lon``/``last_seen_at``)
    is never touched. Rows that change nothing count as neither. ``now`` is the import's time
    (``Staff`` keeps no timestamps yet; it is here so the callers need not change when it does).
    """
    del now
    # WeCom userids are case-insensitive: "LiShiFu" in the database is "lishifu" in the file
    # (the stored spelling is kept).
    existing: dict[str, Staff] = {}
    userids = [r.userid.lower() for r in rows]
    for i in range(0, len(userids), 500):
        result = await session.execute(
            select(Staff).where(func.lower(Staff.userid).in_(userids[i:i + 500])))
        existing.update({s.userid.lower(): s for s in result.scalars()})
    created = updated = 0
    for row in rows:
        values = row.columns()
        staff = existing.get(row.userid.lower())
        if staff is None:
            session.add(Staff(userid=row.userid, **values))
            created += 1
            continue
        changed = False
        for key, value in values.items():
            if getattr(staff, key) != value:
                setattr(staff, key, value)
                changed = True
        updated += changed
    await session.flush()
    return created, updated


async def export_staff(session: AsyncSession, path: str | Path) -> int:
    """Write every person to ``path`` (CSV or YAML by its extension) in the importer's format;
    the number written. The file is replaced whole (written beside it, then renamed)."""
    p = Path(path)
    suffix = staff_format(p)
    staff = (await session.execute(select(Staff).order_by(col(Staff.id)))).scalars().all()
    rows = [StaffRow.from_staff(s) for s in staff]
    tmp = p.with_name(p.name + ".tmp")
    if suffix == ".csv":
        # With a BOM: Excel then opens the Chinese names as UTF-8.
        tmp.write_text(staff_csv(rows), encoding="utf-8-sig", newline="")
    else:
        tmp.write_text(staff_yaml(rows), encoding="utf-8")
    os.replace(tmp, p)
    return len(rows)
