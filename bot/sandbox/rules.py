"""What makes the sandbox as strict as WeCom, and lets tests make it worse: tokens that expire,
per-recipient rate limits (the excess is dropped silently), response codes that work once, and
injected faults (an errcode, an HTTP status, a stall, a late answer)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from aiohttp import web

from bot.sandbox.state import RATE_LIMITS, Fault, SandboxState
from scheduler.clock import Clock


class WeComRules:
    """Mixed into ``Sandbox`` (``server.py``), which holds the state and the clock."""

    state: SandboxState
    clock: Clock

    # -- test controls ----------------------------------------------------------------------

    def fail(self, api: str, *, errcode: int | None = None, http_status: int | None = None,
             delay: float = 0.0, times: int = 1, answer_after: float = 0.0) -> None:
        """Make the next ``times`` calls of ``api`` fail (or stall for ``delay`` seconds before
        handling them); ``answer_after``: handle (deliver) them, then answer that much later —
        WeCom accepting a message and answering after the client gave up."""
        self.state.faults[api].append(Fault(errcode, http_status, delay, times, answer_after))

    def expire_tokens(self) -> None:
        """WeCom may expire a token early: every issued token becomes stale now."""
        for tok, (app, _) in list(self.state.tokens.items()):
            self.state.tokens[tok] = (app, self.clock.now() - timedelta(seconds=1))

    # -- limits, tokens and faults ----------------------------------------------------------

    def _within_limit(self, key: str, kind: str) -> bool:
        """Count this message against the recipient's windows; False means WeCom drops it."""
        now = self.clock.now()
        times = self.state.sent_times[key]
        windows = RATE_LIMITS[kind]
        longest = max(w for w, _ in windows)
        while times and times[0] <= now - timedelta(seconds=longest):
            times.popleft()
        for window, limit in windows:
            if sum(1 for t in times if t > now - timedelta(seconds=window)) >= limit:
                return False
        times.append(now)
        return True

    async def _fault(self, api: str) -> web.Response | None:
        queue = self.state.faults.get(api)
        if not queue or queue[0].answer_after:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        if fault.delay:
            await asyncio.sleep(fault.delay)  # stalls like a slow WeCom; the client times out
        if fault.http_status:
            return web.Response(status=fault.http_status, text="injected")
        if fault.errcode is not None:
            return web.json_response({"errcode": fault.errcode, "errmsg": "injected by sandbox"})
        return None

    async def _late_answer(self, api: str) -> None:
        """An ``answer_after`` fault: the call was handled; hold the answer back."""
        queue = self.state.faults.get(api)
        if not queue or not queue[0].answer_after:
            return
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        await asyncio.sleep(fault.answer_after)

    def _check_token(self, request: web.Request) -> int:
        tok = request.query.get("access_token", "")
        entry = self.state.tokens.get(tok)
        if entry is None:
            return 40014
        if entry[1] <= self.clock.now():
            return 42001
        return 0

    def _new_response_code(self, user: str, task_id: str) -> str:
        code = secrets.token_hex(16)
        self.state.response_codes[code] = {"user": user, "task_id": task_id,
                                           "created": self.clock.now(), "used": False}
        return code
