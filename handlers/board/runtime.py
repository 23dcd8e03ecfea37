"""What ``main.py`` starts: the API's configuration and services, the timers it needs armed,
and the routes it mounts under /api beside the callbacks (``bot/`` knows no use case, so the
routes come from here)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from handlers.board.api import Api
from handlers.board.collect import pending_deliveries
from handlers.board.config import ApiConfig, load_api_config
from handlers.board.finance import arm_finance
from handlers.board.sms import RecordingSms, SmsSender
from handlers.board.webhooks import Deps, arm_pump
from handlers.services import Services
from models.db import WriteGate, write_session
from models.messages import Event
from scheduler.clock import Clock

log = logging.getLogger("handlers.board")


class Board:
    def __init__(self, sm: Any, gate: WriteGate | None, services: Services, clock: Clock, *,
                 config_path: str = "", sandbox: bool = False,
                 on_event: Callable[[], None] | None = None,
                 sms: SmsSender | None = None) -> None:
        self.sm, self.gate, self.services, self.clock = sm, gate, services, clock
        self.config_path, self.sandbox, self.on_event = config_path, sandbox, on_event
        # No SMS provider exists in the project yet (see sms.py): the sandbox records.
        self.sms = sms if sms is not None else (RecordingSms() if sandbox else None)
        self.config = ApiConfig()
        self.api: Api | None = None

    async def load(self, settings: Any = None) -> ApiConfig:
        """Read config/api.yaml (file:line errors stop the start) and register the services."""
        self.config = await asyncio.to_thread(load_api_config, self.config_path or None)
        template = self.config.orders.sms_template_id
        if self.sms is None and settings is not None and settings.SMS_PROVIDER and template:
            import aiohttp

            from handlers.board.sms import ProviderSms
            from handlers.sla.runtime import sms_provider

            self._http = aiohttp.ClientSession()
            self.sms = ProviderSms(sms_provider(settings.model_copy(
                update={"SMS_TEMPLATE_ID": template}), self._http, self.clock))
        self.services.add(self.config)
        self.services.add(Deps(self.sm, self.gate, self.clock, self.sms))
        self.api = Api(self.sm, self.gate, self.services, self.clock, self.config,
                       on_event=self.on_event)
        return self.config

    def use_sms(self, sms: SmsSender | None) -> None:
        """Replace the SMS sender (tests; a provider wired later)."""
        self.sms = sms
        self.services.add(Deps(self.sm, self.gate, self.clock, sms))

    async def arm(self) -> None:
        """The pump while webhooks are configured or deliveries wait; the daily export if on."""
        now = self.clock.now()
        async with write_session(self.sm, self.gate) as s:
            if self.config.webhooks or await pending_deliveries(s):
                await arm_pump(s, now)
            await arm_finance(s, self.config, now)

    async def stop(self) -> None:
        if getattr(self, "_http", None) is not None:
            await self._http.close()

    def mount(self, app: web.Application, store: Callable[[Event], Awaitable[bool]]) -> None:
        """``store``: how a callback's event is stored (the inbox writer's); the board's
        commands, a person's own chat commands, take the same way, so that they keep their
        order with what the person wrote in chat."""
        assert self.api is not None, "Board.load() first"
        app.add_subapp("/api/", self.api.make_app())
        from handlers.board.board_web import BoardWeb

        self.web = BoardWeb(self.sm, self.gate, self.services, self.clock, store=store,
                            on_event=self.on_event)
        app.add_subapp("/board/", self.web.make_app())
