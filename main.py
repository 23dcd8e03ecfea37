"""The one place that wires settings, database, client, dispatcher, workers and servers.

    python main.py serve          # the bot (and the local WeCom sandbox without credentials)
    python main.py worker         # handlers, timers and sender only (no HTTP listener)
    python main.py sender         # the outbox sender only, beside a worker with RUN_SENDER=false
    python main.py migrate        # apply database migrations and exit
    python main.py parked         # what stopped retrying and needs a person
    python main.py retry inbox|outbox ID   # send a parked row back to its queue
    python main.py settle …       # the settlement engine (quote, period, validate, guard)
    python main.py nlp [--now T]  # understand one message per stdin line, print JSON lines
    python main.py staff import|export FILE   # technicians, dispatchers … from/to CSV or YAML
    python main.py ticket show GD…  # a ticket's fields, workflow and audit trail
    python main.py doctor [--lang zh|en]  # check the WeCom setup; ✓/✗ and how to fix each ✗
    python main.py apikey create NAME --scopes …   # an API key, printed once (docs/api.md)
    python main.py finance export --day YYYY-MM-DD  # a day's statements to the finance folder
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import AppCredentials, WeComClient
from bot.crypto import WeComCrypto
from bot.inbox import ingest_writer
from bot.wake import cross_process_wake
from bot.logs import setup_logging
from bot.metrics import Metrics
from bot.sender import OutboxSender
from bot.server import CallbackServer, aibot_channel, app_channel
from bot.settings import Settings, SettingsError, load_settings
from bot.shutdown import StopWatch
from bot.worker import InboxWorker
from handlers import build_dispatcher
from handlers.doctor import Doctor
from handlers.notify import load_groups_config
from handlers.services import Services
from handlers.config_file import ConfigError
from handlers.dispatch.config import load_dispatch_configs
from handlers.intake.config import load_intake_config
from handlers.settlement.config import load_settlement
from handlers.upkeep.router import ensure_retention_timer
from models.db import WriteGate, make_engine, make_sessionmaker, migrate, writer_waiting
from models.queues import inbox_counts, outbox_counts
from models.spool import Spool
from scheduler.clock import Clock, SystemClock
from scheduler.timers import TimerSweep

log = logging.getLogger("main")


class BotRuntime:
    """Starts and stops the bot's parts in order. Used by ``serve``, the tests and the benches."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 run_worker: bool = True, run_sender: bool = True, run_http: bool = True,
                 client_kwargs: dict[str, Any] | None = None,
                 analyzer: Any = None, spool: bool = False) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.run_worker = run_worker
        self.run_sender = run_sender
        self.run_http = run_http  # False: a worker-only process (ingest runs elsewhere)
        self.client_kwargs = client_kwargs or {}
        self.metrics = Metrics()
        self.url = ""
        self.analyzer = analyzer  # tests may share one loaded analyzer between runtimes
        self.spooling = spool  # an ingest beside worker processes: callbacks into the spool

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(migrate, s.DATABASE_URL)
        # Dictionaries, jieba and the gazetteer load once, off the event loop; intake's rules
        # are validated here so a bad config/intake.yaml stops the start with file:line.
        if self.analyzer is None:
            from nlp.analyzer import Analyzer

            self.analyzer = await asyncio.to_thread(Analyzer.load)
        intake_config = await asyncio.to_thread(load_intake_config)
        # Dispatch: the scoring weights and the offering rules, checked the same way.
        dispatch_config, offering_config = await asyncio.to_thread(
            load_dispatch_configs, s.OFFERING_CONFIG or None)
        # Settlement: config/settlement.yaml and the price books it names, checked together.
        settlement = await asyncio.to_thread(load_settlement)
        # Ticket templates, the field library and workflow rules (config/templates/ …).
        from handlers.workflow.config import load_workflow_config

        workflow = await asyncio.to_thread(load_workflow_config)
        # How news reaches a group (its 消息推送 robot): config/groups.yaml.
        groups = await asyncio.to_thread(load_groups_config, s.GROUPS_CONFIG or None)
        # SLA policies, escalations and digests: config/sla.yaml (handlers/sla/).
        from handlers.sla.config import load_sla_config

        sla = await asyncio.to_thread(load_sla_config, s.SLA_CONFIG or None)
        self.engine = make_engine(s.DATABASE_URL, busy_timeout_ms=s.SQLITE_BUSY_TIMEOUT_MS)
        self.sm = make_sessionmaker(self.engine)
        gate = WriteGate.for_url(s.DATABASE_URL)  # one SQLite writer at a time, ingest first
        self.client = WeComClient(
            s.WECOM_API_BASE,
            {"app": AppCredentials(s.WECOM_CORP_ID, s.WECOM_SECRET.get_secret_value())},
            clock=self.clock, on_call=lambda api, code: self.metrics.api_calls.labels(
                api, str(code)).inc(), **self.client_kwargs)
        # The setup doctor (handlers/doctor/): once at start, and on /healthz?verbose=1; it
        # shares the client, so its gettoken is the bot's own cached token.
        self.doctor = Doctor(s, self.client)
        self.sender = OutboxSender(self.sm, self.client, self.clock, self.metrics,
                                   max_attempts=s.SENDER_MAX_ATTEMPTS, gate=gate,
                                   lease=timedelta(seconds=s.SENDER_LEASE_SECONDS),
                                   poll_seconds=s.SENDER_POLL_SECONDS)
        # What handlers may use, found by the type they annotate (handlers/services.py).
        self.services = Services(self.client, s, self.analyzer, intake_config, dispatch_config,
                                 offering_config, settlement, groups, workflow)
        self.services.add(self.sm, as_type=async_sessionmaker)
        self.services.add(sla)
        # Customer history, repeat problems, 扫码报修: config/customers.yaml, solutions.yaml.
        from handlers.customers.config import load_customers

        self.services.add(await asyncio.to_thread(load_customers))
        # The HTTP API, orders, forms, webhooks and the finance export (handlers/board/).
        from handlers.board.runtime import Board

        # Work split over processes: a commit wakes the process that takes it on instead of
        # its next poll (bot/wake.py): "inbox" the workers, "outbox" the one that sends.
        self.wake = cross_process_wake(s.DATABASE_URL) if self.run_http != self.run_worker else None
        split = not (self.run_http and self.run_worker and self.run_sender)
        self.outbox_wake = cross_process_wake(s.DATABASE_URL, "outbox") if split else None
        sends = self.sender if self.run_sender else self.outbox_wake or self.sender

        def queued() -> None:  # an API or board call committed events or messages
            (self.wake or self.worker).wake()
            sends.wake()

        self.board = Board(self.sm, gate, self.services, self.clock, config_path=s.API_CONFIG,
                           sandbox=s.sandbox_mode or s.WECOM_CORP_ID == "wwsandbox0000000001",
                           on_event=queued)
        await self.board.load(s)
        self.dispatcher = build_dispatcher(self.services, self.clock, self.metrics)
        # SQLite: an ingest beside worker processes stores callbacks in a spool file of its own;
        # every worker moves what it holds into the inbox (models/spool.py).
        self.spool = Spool.for_url(s.DATABASE_URL, s.SQLITE_BUSY_TIMEOUT_MS)
        self.worker = InboxWorker(
            self.sm, self.dispatcher, self.clock, self.metrics, agent_id=s.WECOM_AGENT_ID,
            max_attempts=s.WORKER_MAX_ATTEMPTS, concurrency=s.WORKER_CONCURRENCY,
            poll_seconds=s.WORKER_POLL_SECONDS, gate=gate,
            on_outbox=sends.wake,
            hold_seconds=s.WORKER_HOLD_SECONDS, writer_waiting=writer_waiting(s.DATABASE_URL, gate),
            intake=self.spool and (lambda: self.spool.move(gate)))
        # Durable timers fire into the inbox; every process that handles events also sweeps.
        self.timers = TimerSweep(self.sm, self.clock, gate=gate, on_fired=self.worker.wake)
        from handlers.sla.runtime import SlaRuntime  # SMS / email / image courier, digests

        self.sla = SlaRuntime(s, self.sm, self.client, self.clock, sla, gate)
        # The inbox writer has its own engine: its commits are fsynced before the ack.
        self.writer, self.ingest_engine = await ingest_writer(
            s.DATABASE_URL, self.clock, gate, self.spool if self.run_http else None,
            s.SQLITE_BUSY_TIMEOUT_MS, spooled=self.spooling,
            on_stored=(self.wake or self.worker).wake)
        channels = {}
        if s.WECOM_TOKEN.get_secret_value():
            channels["app"] = app_channel(WeComCrypto(
                s.WECOM_TOKEN.get_secret_value(), s.WECOM_AES_KEY.get_secret_value(),
                s.WECOM_CORP_ID))
        if s.AIBOT_TOKEN.get_secret_value():
            channels["aibot"] = aibot_channel(WeComCrypto(
                s.AIBOT_TOKEN.get_secret_value(), s.AIBOT_AES_KEY.get_secret_value(), ""))
        self.server = CallbackServer(channels=channels, writer=self.writer, metrics=self.metrics,
                                     clock=self.clock,
                                     max_skew_seconds=s.CALLBACK_MAX_SKEW_SECONDS,
                                     health=self.health, refresh_gauges=self.refresh_gauges,
                                     verbose_health=self.doctor.as_dict)
        if self.run_http:
            await self.writer.start()
        if self.run_worker:
            await ensure_retention_timer(self.sm, self.clock, s.RETENTION_DAYS, gate)
            await self.worker.start()
            self.timers.start(s.TIMER_SWEEP_SECONDS)
        await self.sla.start(self.run_worker)
        if self.run_sender:
            await self.sender.start()
            if self.outbox_wake:  # messages other processes queued (the API, a worker)
                self.outbox_wake.listen(self.sender.wake)
        await self.board.arm()
        if not self.run_http:
            where = make_url(s.DATABASE_URL).render_as_string(hide_password=True)
            if self.run_worker:
                self.wake and self.wake.listen(self.worker.wake)
                log.info("worker running: handlers, timers%s on %s (no HTTP listener)",
                         " and sender" if self.run_sender else " (a sender process sends)",
                         where)
            else:
                log.info("sender running: the outbox sender on %s (no handlers, no HTTP "
                         "listener)", where)
            return
        app = self.server.make_app()
        self.board.mount(app, self.writer.store)  # /api/… (docs/api.md)
        # In-flight requests get a third of the stop's time (aiohttp may wait it twice).
        self.runner = web.AppRunner(app, access_log=None,
                                    shutdown_timeout=min(10.0, s.SHUTDOWN_SECONDS / 3))
        await self.runner.setup()
        site = web.TCPSite(self.runner, s.HOST, s.PORT)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{s.HOST}:{port}"
        log.info("bot listening on %s (callbacks: %s)", self.url,
                 ", ".join(f"/wecom/{'callback' if c == 'app' else c}" for c in channels) or "none")

    async def stop(self) -> None:
        """Stop accepting, let in-flight callbacks finish storing, finish handlers, close."""
        self.server.accepting = False
        if self.run_http:
            await self.runner.cleanup()
            await self.writer.stop()
        await self.timers.stop()
        await self.sla.stop()
        await self.board.stop()
        await self.worker.stop()
        await self.sender.stop()
        await self.client.close()
        await self.engine.dispose()
        await self.ingest_engine.dispose()
        if self.spool:
            await self.spool.close()
        for wake in (self.wake, self.outbox_wake):
            if wake:
                await wake.stop()
        log.info("bot stopped cleanly")

    async def health(self) -> dict[str, Any]:
        async with self.sm() as session:
            inbox = await self._inbox_counts(session)
            outbox = await outbox_counts(session)
        return {"inbox": inbox, "outbox": outbox, "processed": self.worker.processed,
                "worker": self.run_worker, "sender": self.run_sender}

    async def _inbox_counts(self, session: Any) -> dict[str, int]:
        """Spooled callbacks are pending too: acked, not yet moved into the inbox."""
        spooled = await self.spool.count() if self.spool else 0  # first: a move in between
        counts = await inbox_counts(session)  # counts them twice at worst, never not at all
        counts["pending"] += spooled
        return counts

    async def refresh_gauges(self) -> None:
        async with self.sm() as session:
            for status, n in (await self._inbox_counts(session)).items():
                self.metrics.inbox_depth.labels(status).set(n)
            for status, n in (await outbox_counts(session)).items():
                self.metrics.outbox_depth.labels(status).set(n)


async def serve(settings: Settings, with_sandbox: bool, *, role: str = "serve") -> None:
    """``role``: serve (HTTP, and the handlers unless RUN_WORKER=false), worker (handlers and
    timers, no HTTP) or sender (the outbox sender alone); each sends unless RUN_SENDER=false
    (or RUN_WORKER=false: the ingest process never sends)."""
    sandbox = None
    handles = role == "worker" or (role == "serve" and settings.RUN_WORKER)
    if handles and not settings.RUN_SENDER and with_sandbox:
        raise ConfigError("RUN_SENDER=false: a sandbox run is one process, which must send "
                          "(unset RUN_SENDER)")
    if role == "serve" and handles and not settings.RUN_SENDER:  # the worker's log says it
        log.warning("RUN_SENDER=false: this process handles but does not send; run "
                    "python main.py sender beside it, or nothing reaches anyone")
    bot = BotRuntime(settings, run_worker=handles,
                     run_sender=role == "sender" or (handles and settings.RUN_SENDER),
                     run_http=role == "serve", spool=role == "serve" and not handles)
    await bot.start()
    if with_sandbox:
        from bot.sandbox.server import Sandbox

        s = settings
        sandbox = Sandbox(corp_id=s.WECOM_CORP_ID, agent_id=s.WECOM_AGENT_ID or 0,
                          secret=s.WECOM_SECRET.get_secret_value(),
                          app_token=s.WECOM_TOKEN.get_secret_value(),
                          app_aes_key=s.WECOM_AES_KEY.get_secret_value(),
                          aibot_token=s.AIBOT_TOKEN.get_secret_value(),
                          aibot_aes_key=s.AIBOT_AES_KEY.get_secret_value(), bot_url=bot.url)
        from handlers.staff.seed import seed_sandbox
        from models.db import write_session

        async with write_session(bot.sm, None) as session:
            people, stores = await seed_sandbox(session, bot.clock.now())
            from handlers.settlement.seeds import seed_pricing_examples  # statements to look at

            await seed_pricing_examples(session, bot.clock.now())
        log.info("sandbox: %d staff and %d stores added from config/sandbox/", people, stores)
        url = await sandbox.start(s.HOST, s.SANDBOX_PORT)
        print(f"\n  No WeCom credentials configured: running against the local WeCom sandbox.\n"
              f"  Open {url}/ to chat with the bot as a customer, store employee,\n"
              f"  technician or manager; {bot.url}/board/ for the managers' board.\n",
              flush=True)
    doctor = None
    if not with_sandbox and settings.DOCTOR_AT_START:
        # The setup checks once, in the background (one log line): a WeCom that does not answer
        # never delays the first ack. Kept referenced until it is done.
        doctor = asyncio.create_task(bot.doctor.log_summary())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    # Slow: the log says what it waits on; too slow: the process ends (bot/shutdown.py).
    watch = StopWatch(min(10.0, settings.SHUTDOWN_SECONDS / 2), settings.SHUTDOWN_SECONDS)
    watch.start()
    if doctor is not None and not doctor.done():
        doctor.cancel()
    await bot.stop()
    watch.stopped()
    if sandbox:
        await sandbox.stop()


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def _doctor_settings() -> Settings:
    """The settings as ``serve`` reads them, with the log redacting every secret."""
    settings = load_settings()
    secrets = [settings.WECOM_SECRET, settings.WECOM_TOKEN, settings.WECOM_AES_KEY,
               settings.AIBOT_TOKEN, settings.AIBOT_AES_KEY]
    setup_logging("WARNING", "text", [s.get_secret_value() for s in secrets])
    return settings


def _nlp(now_text: str | None) -> int:
    from datetime import datetime

    from nlp.cli import run as nlp_run

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            print(f"--now: not an ISO 8601 time: {now_text!r}", file=sys.stderr)
            return 2
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    nlp_run(sys.stdin, now, sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the bot (default)")
    sub.add_parser("worker", help="handlers, timers and sender only, beside an ingest process "
                                  "(serve with RUN_WORKER=false) on the same database")
    sub.add_parser("sender", help="the outbox sender only, beside a worker started with "
                                  "RUN_SENDER=false on the same database")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("parked", help="list inbox events and outbox messages parked for a person")
    retry_p = sub.add_parser("retry", help="send a parked row back to its queue")
    retry_p.add_argument("queue", choices=["inbox", "outbox"])
    retry_p.add_argument("id", type=int)
    nlp_p = sub.add_parser("nlp", help="analyse messages from stdin, one JSON object per line")
    nlp_p.add_argument("--now", help="ISO 8601 instant to resolve times against (default: now)")
    from handlers.doctor import cli as doctor_cli
    from handlers.settlement import cli as settle_cli

    from handlers.workflow import cli as ticket_cli

    settle_cli.add_parser(sub)
    doctor_cli.add_parser(sub)
    ticket_cli.add_parser(sub)
    from handlers.sla import cli as calendar_cli  # python main.py calendar add …

    calendar_cli.add_parser(sub)
    calendar_cli.add_ops_parser(sub)  # python main.py sla deliveries
    from handlers.board import cli as board_cli  # python main.py apikey create …, finance export

    board_cli.add_parser(sub)
    from handlers.customers import cli as qr_cli  # python main.py qr store|device ID

    qr_cli.add_parser(sub)
    from handlers.staff import cli as staff_cli  # python main.py staff import|export FILE

    staff_cli.add_parser(sub)
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if command == "settle":  # files: pure computation; the database: asks for the settings
        return settle_cli.run(args, _settings_or_exit)
    if command == "nlp":
        return _nlp(args.now)
    if command == "calendar":  # pure computation: no settings, no database
        return calendar_cli.run(args)
    if command == "ticket":
        return ticket_cli.run(args, _settings_or_exit)
    if command == "qr":
        return qr_cli.run(args, _settings_or_exit)
    if command == "doctor":  # a setting that does not load is its first ✗, not exit code 2
        return doctor_cli.run(args, _doctor_settings)

    settings = _settings_or_exit()
    with_sandbox = settings.sandbox_mode
    if with_sandbox:  # before logging is set up, so the generated secrets are redacted too
        settings = settings.with_sandbox_credentials()
    secrets = [settings.WECOM_SECRET, settings.WECOM_TOKEN, settings.WECOM_AES_KEY,
               settings.AIBOT_TOKEN, settings.AIBOT_AES_KEY, settings.SMS_SECRET_KEY,
               settings.SMTP_PASSWORD]
    try:  # the groups' robot keys are secrets too (they are read again, checked, at start)
        robot_keys = load_groups_config(settings.GROUPS_CONFIG or None).secrets()
    except (ConfigError, OSError):
        robot_keys = []
    setup_logging(settings.LOG_LEVEL, settings.LOG_FORMAT,
                  [s.get_secret_value() for s in secrets] + robot_keys)
    if command == "migrate":
        migrate(settings.DATABASE_URL)
        return 0
    if command == "staff":
        return asyncio.run(staff_cli.run(settings, args))
    if command in ("apikey", "finance"):
        return asyncio.run(board_cli.run(settings, args))
    if command == "sla":
        return asyncio.run(calendar_cli.deliveries(settings, args))
    if command in ("parked", "retry"):
        from bot.parked import operate

        return asyncio.run(operate(settings, args))
    if command in ("worker", "sender") and with_sandbox:
        print(f"configuration error: {command} needs the WeCom settings of the ingest process "
              "it works beside (a sandbox run is one process: python main.py serve)",
              file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings, with_sandbox, role=command or "serve"))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
