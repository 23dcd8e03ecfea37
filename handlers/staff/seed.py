"""The people and stores of the local WeCom sandbox (``config/sandbox/``), added on start in
sandbox mode so that a newcomer's first report reaches a technician: technicians, a dispatcher
and a finance clerk (staff import format, docs/staff.md) and stores with their coordinates.
Staff are imported only into an empty staff table; stores only when missing — nothing a person
changed is overwritten."""

from __future__ import annotations

from datetime import datetime

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config_file import CONFIG_DIR
from handlers.staff.fileformat import import_staff, read_staff_file
from models.tickets import Site, Staff

SEED = CONFIG_DIR / "sandbox"


async def seed_sandbox(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """(staff added, stores added)."""
    people = 0
    if not (await session.execute(select(func.count()).select_from(Staff))).scalar_one():
        people, _ = await import_staff(session, read_staff_file(SEED / "staff.yaml"), now)
    stores = 0
    for s in yaml.safe_load((SEED / "sites.yaml").read_text(encoding="utf-8")):
        site = (await session.execute(select(Site).where(Site.name == s["name"]))
                ).scalar_one_or_none()
        if site is None:
            session.add(Site(created_at=now, **s))
            stores += 1
        elif site.region_code is None and site.lat is None:
            site.address, site.region_code = s["address"], s["region_code"]
            site.lat, site.lon = s["lat"], s["lon"]
    return people, stores
