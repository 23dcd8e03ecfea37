"""Writing staff files in exactly the format the importer reads (CSV cells and YAML entries),
so that export → import changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import yaml

from handlers.staff.fields import days_text
from handlers.staff.rows import FIELDS, StaffRow


def _num(x: float) -> str:
    return repr(float(x))


def csv_cells(row: StaffRow) -> list[str]:
    """One row's cells in ``FIELDS`` order, in the CSV encodings the importer reads."""
    return [
        row.userid, row.name, ";".join(row.roles), row.phone or "", row.extension or "",
        row.provider, ";".join(f"{tag}:{level}" for tag, level in row.skills.items()),
        ";".join(row.regions),
        f"{_num(row.home[0])},{_num(row.home[1])}" if row.home is not None else "",
        str(row.capacity), "" if row.rating is None else _num(row.rating),
        ";".join(f"{days_text(s.get('days', 'daily'))} {s.get('start')}-{s.get('end')}"
                 for s in row.shifts),
        ";".join(f"{lv.get('from')}..{lv.get('to')}" for lv in row.leave),
        "true" if row.active else "false",
        ";".join(row.departments), ";".join(row.tags), ";".join(row.stores),
    ]


def staff_csv(rows: Sequence[StaffRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(csv_cells(r) for r in rows)
    return out.getvalue()


def yaml_entry(row: StaffRow) -> dict[str, Any]:
    """One row as the YAML mapping the importer reads; empty optional fields are left out."""
    entry: dict[str, Any] = {"userid": row.userid}
    optional: dict[str, Any] = {
        "name": row.name, "roles": list(row.roles), "phone": row.phone,
        "extension": row.extension, "provider": row.provider, "skills": dict(row.skills),
        "regions": list(row.regions),
        "home": {"lat": row.home[0], "lon": row.home[1]} if row.home is not None else None}
    entry |= {k: v for k, v in optional.items() if v not in (None, "", [], {})}
    entry["capacity"] = row.capacity
    if row.rating is not None:
        entry["rating"] = row.rating
    if row.shifts:
        entry["shifts"] = [{"days": days_text(s.get("days", "daily")), "start": s.get("start"),
                            "end": s.get("end")} for s in row.shifts]
    if row.leave:
        entry["leave"] = [{"from": lv.get("from"), "to": lv.get("to")} for lv in row.leave]
    entry["active"] = row.active
    entry |= {k: list(v) for k, v in (("departments", row.departments), ("tags", row.tags),
                                      ("stores", row.stores)) if v}
    return entry


def staff_yaml(rows: Sequence[StaffRow]) -> str:
    head = "# Staff, written by `python main.py staff export` (format: docs/staff.md).\n"
    if not rows:
        return head + "[]\n"
    return head + yaml.safe_dump([yaml_entry(r) for r in rows], allow_unicode=True,
                                 sort_keys=False, default_flow_style=None, width=100)
