"""The doctor where people meet it: ``python main.py doctor`` (exit code, both languages, JSON,
no secret printed), ``/healthz?verbose=1`` on a running bot (cached, 503 while a check fails),
and the bot's own client and sandbox pieces it relies on (the IP in a 60020 errmsg, WeCom's
``Date`` header)."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from bot.client import AppCredentials, WeComClient, WeComUntrustedIp, reported_ip
from tests.conftest import (TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, make_settings,
                            shared_analyzer)
from tests.handlers.doctor.conftest import add_staff
from tests.procs import MAIN, bot_env


def test_the_ip_in_a_60020_errmsg():
    msg = ("not allow to access from your ip, hint: [1658286717354964018506079], from ip: "
           "115.227.127.185, more info at https://open.work.weixin.qq.com/devtool/query?e=60020")
    assert reported_ip(msg) == "115.227.127.185"
    assert reported_ip("from ip: 2408:8207:1234::5, more info") == "2408:8207:1234::5"
    assert reported_ip("not allow to access from your ip") is None
    assert WeComUntrustedIp(60020, msg, "agent/get").ip == "115.227.127.185"


async def test_client_keeps_wecoms_date_and_the_sandbox_says_gettoken_errcodes(sandbox):
    async with WeComClient(sandbox.base_url, {"app": AppCredentials(TEST_CORP_ID, "")}) as c:
        try:
            await c.token()
        except Exception as exc:
            assert getattr(exc, "errcode") == 41004
        assert c.server_date is not None
        theirs, ours = c.server_date
        assert abs((ours - theirs).total_seconds()) < 5


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "doctor", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_cli_exit_codes_languages_and_no_secrets(sqlite_url, sandbox, public, pki, tmp_path):
    url, _, _ = public
    env = bot_env(sqlite_url, sandbox.base_url, 0, PUBLIC_URL=url,
                  DOCTOR_CA_FILE=str(pki.ca_file), AIBOT_TOKEN=TEST_TOKEN,
                  AIBOT_AES_KEY=TEST_AES_KEY)
    code, out, err = await run_cli(env)
    assert code == 0, out + err
    assert out.splitlines()[0] == "企业微信接入体检 / WeCom setup doctor"
    assert not [ln for ln in out.splitlines() if ln.startswith("✗")]
    assert "✓ 14  ✗ 0  – 1   全部通过 / all passed" in out  # – : approvals are not used
    sandbox.untrust_ip("203.0.113.9")
    code, out, err = await run_cli(env, "--lang", "en")
    assert code == 1
    assert "✗ Trusted IP (企业可信IP): errcode 60020: WeCom refuses calls from 203.0.113.9" in out
    assert "    Fix: Admin console → 应用管理 (Apps)" in out and "修复" not in out
    code, out, _ = await run_cli(env, "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    trusted = next(c for c in report["checks"] if c["id"] == "trusted_ip")
    assert trusted["mark"] == "✗" and "203.0.113.9" in trusted["advice"][0]["zh"]
    for text in (out, err):
        for secret in (TEST_SECRET, TEST_TOKEN, TEST_AES_KEY):
            assert secret not in text


async def test_cli_with_settings_that_do_not_load(tmp_path):
    from tests.procs import clean_env

    code, out, err = await run_cli(clean_env(WECOM_CORP_ID="ww1", WECOM_AGENT_ID="abc"))
    assert code == 1
    assert "✗ 设置 / Settings: configuration error: WECOM_AGENT_ID" in out
    assert "AgentId（数字）" in out and err == ""


async def test_verbose_healthz_runs_the_doctor_once_a_minute(sqlite_url, sandbox):
    from main import BotRuntime

    add_staff(sqlite_url, "lishifu")
    settings = make_settings(sqlite_url, WECOM_API_BASE=sandbox.base_url)
    bot = BotRuntime(settings, run_worker=False, run_sender=False, analyzer=shared_analyzer())
    await bot.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{bot.url}/healthz") as r:
                assert r.status == 200 and "doctor" not in await r.json()
                assert not sandbox.calls("agent/get")  # the plain form asks WeCom nothing
            for _ in range(2):
                async with http.get(f"{bot.url}/healthz?verbose=1") as r:
                    body = await r.json()
            assert r.status == 503 and body["status"] == "degraded"
        checks = {c["id"]: c for c in body["doctor"]["checks"]}
        assert checks["gettoken"]["mark"] == "✓" and checks["visible_range"]["mark"] == "✓"
        assert checks["public_dns"]["mark"] == "✗"  # PUBLIC_URL is not set here
        assert checks["public_dns"]["advice"][0]["en"].startswith("PUBLIC_URL:")
        assert len(sandbox.calls("agent/get")) == 1  # the second request got the cached run
        assert body["inbox"] == {"pending": 0, "parked": 0} and "processed" in body  # the ordinary health is still there
        # The doctor used the bot's own client: one token for both.
        await bot.client.call("agent/get", method="GET", params={"agentid": 218})
        assert len(sandbox.calls("gettoken")) == 1
    finally:
        await bot.stop()
