"""Technicians and dispatchers from a file: ``python main.py staff import|export FILE``.

Managers keep their people in a spreadsheet (CSV, UTF-8 with or without the BOM Excel adds) or
in YAML (a list of mappings); both use the field names of ``FIELDS``. ``read_staff_file``
validates every row and collects every problem, each naming the file, the line and the field
(``staff.csv:4: skills: level 7 for 'aircon' is not in 1..5``), and raises ``StaffFileError``
with all of them. ``import_staff`` upserts by ``userid``: people not in the file are left alone,
and the live location (``last_lat``/``last_lon``/``last_seen_at``) is never touched.
``export_staff`` writes exactly what the importer reads, so export → import changes nothing.
The formats are described in docs/staff.md.

This module is the format's front door; the parts live beside it: ``rows.py`` (the fields, a
row, the error), ``records.py`` (CSV rows and YAML entries, read with the one YAML reader of
``handlers/config_file.py``), ``fields.py`` (checking each field), ``writing.py`` (CSV and
YAML out) and ``store.py`` (the database).
"""

from __future__ import annotations

from pathlib import Path

from handlers.config_file import Problem
from handlers.staff.fields import check_row
from handlers.staff.records import csv_records, yaml_records
from handlers.staff.rows import FIELDS, FORMATS, StaffFileError, StaffRow, staff_format
from handlers.staff.store import export_staff, import_staff
from handlers.staff.writing import csv_cells, staff_csv, staff_yaml, yaml_entry

__all__ = ["FIELDS", "FORMATS", "StaffFileError", "StaffRow", "csv_cells", "export_staff",
           "import_staff", "read_staff_file", "staff_csv", "staff_format", "staff_yaml",
           "yaml_entry"]


def read_staff_file(path: str | Path) -> list[StaffRow]:
    """Every row of a ``.csv`` / ``.yaml`` / ``.yml`` staff file, validated.

    Raises ``StaffFileError`` listing every problem (in file order) if there is any.
    """
    p, where = Path(path), str(path)
    suffix = staff_format(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StaffFileError([str(Problem(where, None, None,
                                          f"cannot read ({exc.strerror})"))]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StaffFileError([str(Problem(where, line, None,
                                          "not UTF-8 text (in Excel save as "
                                          "'CSV UTF-8 (Comma delimited)')"))]) from None
    records, problems = (csv_records if suffix == ".csv" else yaml_records)(text, where)
    rows: list[StaffRow] = []
    seen: dict[str, int] = {}
    for line, raw in records:
        row, bad = check_row(raw, line)
        problems += [Problem(where, line, name, message) for name, message in bad]
        userid = raw.get("userid")
        if isinstance(userid, str) and userid.strip():
            key = userid.strip().casefold()  # WeCom userids are case-insensitive
            if key in seen:
                problems.append(Problem(where, line, "userid", f"{userid.strip()!r} is already "
                                                               f"on line {seen[key]}"))
                continue
            seen[key] = line
        if row is not None:
            rows.append(row)
    if problems:
        raise StaffFileError([str(p) for p in sorted(problems, key=lambda p: p.line or 0)])
    return rows
