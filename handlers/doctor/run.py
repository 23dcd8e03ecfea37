"""One run of every check, in the order a person fixes things: settings, files, database, WeCom,
then the public callback URL. ``Doctor`` keeps the last report for a minute, so that
``/healthz?verbose=1`` polled by a monitor does not call ``gettoken`` and friends each time
(WeCom rate-limits ``gettoken`` [doc 91039]) and two requests at once make one run."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from bot.client import AppCredentials, WeComClient
from bot.settings import Settings
from handlers.doctor.local import check_config, check_database, check_settings
from handlers.doctor.public import check_public
from handlers.doctor.report import Report, Result
from handlers.doctor.texts import say
from handlers.doctor.wecom import check_wecom

log = logging.getLogger("handlers.doctor")

WECOM_IDS = ("gettoken", "clock", "trusted_ip", "agent", "visible_range", "kf", "approval")
PUBLIC_IDS = ("public_dns", "public_tls", "callback_app", "callback_aibot")
LOCAL_IDS = ("config", "database", "migrations")
TIMEOUT = 10.0  # seconds per WeCom call


async def run_doctor(settings: Settings | None, *, settings_error: str | None = None,
                     client: WeComClient | None = None, now: datetime | None = None) -> Report:
    """Every check once. ``client``: the bot's own (a running bot shares its cached token);
    without one a short-lived client is made. ``now``: for the certificate's days left."""
    report = Report()
    report.add(check_settings(settings, settings_error))
    if settings is None:
        for check_id in LOCAL_IDS + WECOM_IDS + PUBLIC_IDS:
            report.add(Result(check_id, "skip", say("skip.settings")))
        return report
    skip = settings.doctor_skip

    def wanted(check_id: str) -> bool:
        return check_id not in skip

    report.add(await asyncio.to_thread(check_config, settings) if wanted("config")
               else Result("config", "skip", say("skip.by_setting")))
    db = await asyncio.to_thread(check_database, settings.DATABASE_URL)
    report.add(db.database)
    report.add(db.migrations)
    if settings.sandbox_mode:
        for check_id in WECOM_IDS + PUBLIC_IDS:
            report.add(Result(check_id, "skip", say("skip.settings")))
        return report
    own = client is None
    if client is None:
        client = WeComClient(settings.WECOM_API_BASE, {"app": AppCredentials(
            settings.WECOM_CORP_ID, settings.WECOM_SECRET.get_secret_value())},
            max_retries=1, timeout=TIMEOUT)
    try:
        await check_wecom(settings, client, report, db.staff, wanted)
    finally:
        if own:
            await client.close()
    await check_public(settings, report, wanted, now or datetime.now(UTC))
    return report


class Doctor:
    """The checks for a running bot: at start (one log line) and on ``/healthz?verbose=1``."""

    def __init__(self, settings: Settings, client: WeComClient | None = None,
                 ttl: float = 60.0) -> None:
        self.settings, self.client, self.ttl = settings, client, ttl
        self._last: tuple[float, Report] | None = None
        self._lock = asyncio.Lock()

    async def report(self) -> Report:
        async with self._lock:  # one run at a time; who waited gets its result
            if self._last and time.monotonic() - self._last[0] < self.ttl:
                return self._last[1]
            report = await run_doctor(self.settings, client=self.client)
            self._last = (time.monotonic(), report)
            return report

    async def as_dict(self) -> dict:
        return (await self.report()).as_dict()

    async def log_summary(self) -> None:
        """At start: the whole result in one line (WARNING when something needs a person)."""
        try:
            report = await self.report()
        except Exception as exc:  # the doctor must never take the bot down
            log.warning("setup doctor could not run: %s: %s", type(exc).__name__, exc)
            return
        log.log(logging.INFO if report.ok else logging.WARNING, "%s", report.summary())
