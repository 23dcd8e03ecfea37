"""``python main.py doctor [--lang zh|en|both] [--json]``: every check, ✓ / ✗ / – with what to
click in the WeCom admin console; exit code 0 when nothing failed, 1 otherwise. A setting that
does not even load is the settings check's ✗ (not the exit code 2 of ``serve``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

from bot.settings import Settings, SettingsError
from handlers.doctor.run import run_doctor


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the WeCom setup, the database, the config files and "
                                      "the public callback URL; print how to fix each problem")
    p.add_argument("--lang", choices=["zh", "en", "both"], default="both",
                   help="language of the report (default: both)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace, load: Callable[[], Settings]) -> int:
    settings, error = None, None
    try:
        settings = load()
    except SettingsError as exc:
        error = str(exc)
    report = asyncio.run(run_doctor(settings, settings_error=error))
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.render(args.lang))
    return report.exit_code
