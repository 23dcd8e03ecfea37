"""Reading a staff file's records: ``(line, {field: raw value})`` per person, plus the problems
of the file's own shape (unknown columns or fields, a field given twice, text that is not CSV or
YAML). The values are checked afterwards by ``fields.check_row``.

YAML is read with the one YAML reader (``handlers/config_file.read_yaml``); a YAML record's
problems name the line of its mapping (``- userid: …``), as the CSV's name the row.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from handlers.config_file import Problem, YamlSyntaxError, read_yaml
from handlers.staff.rows import FIELDS, TEXT_FIELDS

Records = tuple[list[tuple[int, dict[str, Any]]], list[Problem]]


def csv_records(text: str, where: str) -> Records:
    """(line, {column: text or None}) per non-blank row; line counts the header as 1."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    records: list[tuple[int, dict[str, Any]]] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        columns = [h.strip().lower() for h in header]
        for i, name in enumerate(columns):
            if name and name not in FIELDS:
                problems.append(Problem(where, 1, name, f"unknown column (columns: "
                                                        f"{', '.join(FIELDS)})"))
            elif name and name in columns[:i]:
                problems.append(Problem(where, 1, name, "column appears twice"))
        if "userid" not in columns:
            problems.append(Problem(where, 1, "userid",
                                    "missing column (every row needs a userid)"))
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank lines, and the ",,,," rows spreadsheets leave at the end
            for i, cell in enumerate(cells):
                if cell.strip() and (i >= len(columns) or not columns[i]):
                    problems.append(Problem(where, line, None,
                                            f"cell {i + 1} ({cell.strip()!r}) has no column "
                                            f"name in the header"))
                    break
            records.append((line, {name: (cell.strip() or None)
                                   for name, cell in zip(columns, cells) if name in FIELDS}))
    except csv.Error as exc:
        problems.append(Problem(where, reader.line_num, None, f"not valid CSV ({exc})"))
    return records, problems


def yaml_records(text: str, where: str) -> Records:
    """(line of the mapping, {key: value}) per list entry; text fields keep their YAML text."""
    try:
        doc = read_yaml(text, where)
    except YamlSyntaxError as exc:
        return [], [Problem(where, exc.line, None, f"not valid YAML ({exc.problem})")]
    if doc.empty:
        return [], []
    if not isinstance(doc.data, list):
        return [], [Problem(where, doc.line(), None, f"expected a list of people (- userid: …), "
                                                     f"got a {_kind(doc.data)}")]
    problems: list[Problem] = []
    records: list[tuple[int, dict[str, Any]]] = []
    for i, entry in enumerate(doc.data):
        line = doc.line((i,))
        if not isinstance(entry, dict):
            problems.append(Problem(where, line, None, f"expected a mapping of fields "
                                                       f"(userid: …), got a {_kind(entry)}"))
            continue
        # (line in the file, problem): reported at the entry's line, in the order written
        found: list[tuple[int, Problem]] = []
        unreadable = set()
        for issue in doc.issues:
            if issue.path[:1] != (i,) or len(issue.path) < 2:
                continue
            key = issue.path[1]
            if issue.kind == "unreadable":
                unreadable.add(key)
                found.append((issue.line, Problem(where, line, key, f"cannot read "
                                                  f"{issue.written!r} ({issue.error or issue.reason})")))
            elif len(issue.path) == 2:  # a field given twice (the last one counts)
                found.append((issue.line, Problem(where, line, key, "given twice" if key in FIELDS
                                                  else _unknown())))
        raw: dict[str, Any] = {}
        for key, value in entry.items():
            if key not in FIELDS:
                found.append((doc.line((i, key)), Problem(where, line, key, _unknown())))
                continue
            if key in unreadable:
                continue
            written = doc.written((i, key))
            if key in TEXT_FIELDS and written is not None and value is not None \
                    and not isinstance(value, (list, dict)):
                value = written  # as written: 0701 stays '0701', yes stays 'yes'
            raw[key] = value
        problems += [p for _, p in sorted(found, key=lambda f: f[0])]
        records.append((line, raw))
    return records, problems


def _unknown() -> str:
    return f"unknown field (fields: {', '.join(FIELDS)})"


def _kind(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "value"
