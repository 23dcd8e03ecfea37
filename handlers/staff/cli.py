"""``python main.py staff import FILE [--dry-run]`` / ``staff export FILE`` (docs/staff.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any


def add_parser(sub: Any) -> None:
    staff_p = sub.add_parser("staff", help="import or export technicians and dispatchers "
                                           "(CSV or YAML, see docs/staff.md)")
    staff_sub = staff_p.add_subparsers(dest="staff_command", required=True)
    staff_import = staff_sub.add_parser("import", help="upsert people by userid from FILE")
    staff_import.add_argument("file", metavar="FILE", help="a .csv, .yaml or .yml file")
    staff_import.add_argument("--dry-run", action="store_true",
                              help="only check the file; write nothing")
    staff_export = staff_sub.add_parser("export", help="write everyone to FILE")
    staff_export.add_argument("file", metavar="FILE", help="a .csv, .yaml or .yml file")


async def run(settings: Any, args: argparse.Namespace) -> int:
    """An import with any problem prints them all and writes nothing (exit 2)."""
    from handlers.staff.fileformat import (StaffFileError, export_staff, import_staff,
                                           read_staff_file, staff_format)
    from models.db import command_database, write_session

    try:
        staff_format(args.file)
        rows = read_staff_file(args.file) if args.staff_command == "import" else []
    except StaffFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    if args.staff_command == "import" and args.dry_run:
        print(f"checked {args.file}: {len(rows)} staff, no problems (dry run: nothing written)")
        return 0
    async with command_database(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS) as sm:
        if args.staff_command == "import":
            async with write_session(sm, None) as s:
                created, updated = await import_staff(s, rows, datetime.now(UTC))
            print(f"imported {args.file}: {created} created, {updated} updated, "
                  f"{len(rows) - created - updated} unchanged")
            return 0
        try:
            async with sm() as s:
                n = await export_staff(s, args.file)
        except OSError as exc:
            print(f"{args.file}: cannot write ({exc.strerror})", file=sys.stderr)
            return 2
        print(f"exported {n} staff to {args.file}")
        return 0
