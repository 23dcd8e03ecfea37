"""``python main.py qr store NAME|ID`` / ``qr device ID`` — write the 扫码报修 QR code as a PNG
(``--out DIR``, default ``qr/``) and print what it holds."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Callable

from handlers.customers.config import load_customers
from handlers.customers.qr import QrError, qr_content, report_text, write_png
from handlers.config_file import ConfigError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("qr", help="write a 扫码报修 QR code (PNG) for a store or a device")
    p.add_argument("kind", choices=["store", "device"])
    p.add_argument("id", help="store: its name or id; device: its id in config/customers.yaml")
    p.add_argument("--out", default="qr", help="directory for the PNG (default: qr/)")


async def _store(settings: Any, key: str) -> str | None:
    from sqlalchemy import select

    from models.db import command_database
    from models.tickets import Site

    async with command_database(settings.DATABASE_URL, settings.SQLITE_BUSY_TIMEOUT_MS) as sm:
        async with sm() as s:
            cond = Site.id == int(key) if key.isdigit() else Site.name == key
            site = (await s.execute(select(Site).where(cond))).scalar_one_or_none()
            return site.name if site else None


def run(args: argparse.Namespace, settings_factory: Callable[[], Any]) -> int:
    try:
        setup = load_customers()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    cfg = setup.config
    if args.kind == "device":
        dev = cfg.device(args.id)
        if dev is None:
            known = ", ".join(d.id for d in cfg.devices) or "none"
            print(f"unknown device {args.id!r} (config/customers.yaml devices: {known})",
                  file=sys.stderr)
            return 2
        text, name = report_text(dev.store, dev.device, dev.id), f"device-{dev.id}"
    else:
        store = asyncio.run(_store(settings_factory(), args.id))
        if store is None:
            print(f"unknown store {args.id!r} (a store's name or id in the database)",
                  file=sys.stderr)
            return 2
        text, name = report_text(store), f"store-{args.id}"
    try:
        content = qr_content(text, cfg.kf_link)
    except QrError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    path = write_png(content, Path(args.out) / f"{name}.png")
    print(f"{path}: {content}")
    return 0
