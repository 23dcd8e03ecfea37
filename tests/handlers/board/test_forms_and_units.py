"""The embeddable web form, the webhook signature, config/api.yaml errors and the apikey CLI."""

from __future__ import annotations

import hashlib
import hmac
import re

import aiohttp
import pytest

from handlers.board.config import ApiConfigError, load_api_config
from handlers.board.webhooks import sign
from models.tickets import Ticket
from tests.conftest import make_settings, start_stack


@pytest.fixture
async def form_stack(db_url, tmp_path):
    cfg = tmp_path / "api.yaml"
    cfg.write_text("forms:\n  - {key: site, integration: website, title: 在线报修}\n",
                   encoding="utf-8")
    stack = await start_stack(db_url, API_CONFIG=str(cfg))
    async with aiohttp.ClientSession() as http:
        yield stack, http
    await stack.bot.stop()
    await stack.sandbox.stop()


async def test_a_web_form_makes_one_ticket_per_submission(form_stack):
    stack, http = form_stack
    url = f"{stack.bot.url}/api/forms/site"
    async with http.get(url) as r:
        page = await r.text()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "在线报修" in page and 'name="phone"' in page and "viewport" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    form = {"token": token, "kind": "consult", "name": "李先生", "phone": "13900139000",
            "address": "上海市黄浦区南京东路1号", "description": "想咨询商用咖啡机的价格"}
    async with http.post(url, data=form) as r:
        done = await r.text()
    number = re.search(r"工单号 (GD\d{8}-\d{4})", done).group(1)
    async with http.post(url, data=form) as r:  # a double submit
        assert number in await r.text()
    [t] = await stack.rows(Ticket)
    assert (t.number, t.category, t.phone, t.district) == (number, "consult", "13900139000",
                                                           "黄浦区")
    async with http.post(url, data={**form, "token": token + "x", "phone": "12"}) as r:
        assert "请检查：手机号" in await r.text()
    async with http.get(f"{stack.bot.url}/api/forms/nope") as r:
        assert r.status == 404 and r.headers["Content-Type"].startswith(
            "application/problem+json")
    assert len(await stack.rows(Ticket)) == 1


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = '{"id":"evt_1"}'
    want = hmac.new(b"k" * 16, b"1764000000." + body.encode(), hashlib.sha256).hexdigest()
    assert sign("k" * 16, "1764000000", body) == "sha256=" + want
    assert sign("k" * 16, "1764000001", body) != "sha256=" + want


def test_config_errors_name_file_line_and_field(tmp_path):
    p = tmp_path / "api.yaml"
    p.write_text("webhooks:\n  - name: shop\n    url: ftp://x\n    secret: short\n",
                 encoding="utf-8")
    with pytest.raises(ApiConfigError) as err:
        load_api_config(p)
    text = str(err.value)
    assert f"{p}:3: webhooks.0.url" in text and f"{p}:4: webhooks.0.secret" in text
    assert load_api_config().webhooks == ()  # the shipped config/api.yaml: nothing configured


async def test_apikey_cli_prints_the_key_once_and_stores_its_hash(tmp_path, capsys,
                                                                  monkeypatch):
    import asyncio

    import main
    from models.db import migrate

    def cli(*argv: str) -> int:  # in a thread: the command runs its own event loop
        return main.main(list(argv))

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    for k, v in make_settings(url).model_dump().items():
        if v not in (None, "") and not hasattr(v, "get_secret_value"):
            monkeypatch.setenv(k, str(v))
    monkeypatch.setenv("WECOM_SECRET", "x" * 20)
    monkeypatch.setenv("WECOM_TOKEN", "tok")
    monkeypatch.setenv("WECOM_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
    run = asyncio.to_thread
    assert await run(cli, "apikey", "create", "shop", "--scopes", "tickets:read,orders:write") == 0
    key = capsys.readouterr().out.strip()
    assert re.fullmatch(r"wo_[0-9a-f]{8}_\S+", key)
    assert key not in (tmp_path / "bot.db").read_bytes().decode("latin-1")
    assert await run(cli, "apikey", "create", "shop", "--scopes", "tickets:read") == 2
    assert await run(cli, "apikey", "create", "x", "--scopes", "root") == 2
    assert await run(cli, "apikey", "list") == 0
    listed = capsys.readouterr().out
    assert "shop" in listed and "orders:write,tickets:read" in listed and key not in listed
    assert await run(cli, "apikey", "revoke", "shop") == 0
