"""The stack (sandbox + bot) with API keys, and an HTTP client for /api."""

from __future__ import annotations

import pytest

from tests.conftest import start_stack

ALL = ["tickets:read", "tickets:write", "orders:write", "statements:read", "technicians:read",
       "finance:read", "webhooks:read"]


async def make_key(stack, name: str, scopes: list[str], rate: int = 600) -> str:
    from handlers.board.keys import create_key
    from models.db import write_session

    async with write_session(stack.bot.sm, None) as s:
        return await create_key(s, name, scopes, now=stack.clock.now(), rate_per_minute=rate)


class ApiClient:
    def __init__(self, stack, http, key: str) -> None:
        self.stack, self.http, self.key = stack, http, key
        self.base = stack.bot.url + "/api"

    async def call(self, method: str, path: str, *, json=None, key: str | None = None,
                   idem: str | None = None, headers: dict | None = None):
        h = {"Authorization": f"Bearer {key or self.key}"} if (key or self.key) else {}
        if idem:
            h["Idempotency-Key"] = idem
        h.update(headers or {})
        async with self.http.request(method, self.base + path, json=json, headers=h) as r:
            ctype = r.headers.get("Content-Type", "")
            body = await r.json(content_type=None) if "json" in ctype else await r.text()
            return r.status, body, r.headers


@pytest.fixture
async def api(db_url, tmp_path):
    import aiohttp

    stack = await start_stack(db_url)
    key = await make_key(stack, "shop", ALL)
    async with aiohttp.ClientSession() as http:
        yield ApiClient(stack, http, key)
    await stack.bot.stop()
    await stack.sandbox.stop()
