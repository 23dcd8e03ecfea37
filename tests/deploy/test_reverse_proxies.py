"""The reverse-proxy examples in docs/deploy/, run for real on loopback: nginx and Caddy with the
shipped location/route files (only the upstream port and a throwaway certificate are the test's),
in front of a real bot. Through them the doctor's public checks pass (DNS, certificate, a signed
URL verification with its query string intact), WeCom's encrypted callbacks (the sandbox
delivering through the proxy) are acked and stored byte for byte, and nothing else is public.
The production files themselves are parsed by the real binaries (nginx -t, caddy adapt).

nginx and Caddy are Debian packages (nginx-light, caddy), installed with apt-get when missing;
these tests never skip."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from tests.browser.chromium import ensure_packages

from handlers.doctor.public import check_public
from handlers.doctor.report import Report
from tests.conftest import ROOT, make_settings, shared_analyzer
from tests.handlers.doctor.tls import Pki
from tests.procs import free_port

DEPLOY = ROOT / "docs" / "deploy"
# Debian's nginx and Caddy, installed with apt-get when missing (as the browser tests install
# Chromium): a proxy example nobody ran is a guess, so these tests never skip.
ensure_packages(("nginx-light", "caddy"), "the reverse-proxy examples (docs/deploy/)")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
CADDY = shutil.which("caddy")


async def wait_listening(port: int, proc, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if proc.returncode is not None:
            err = (await proc.stderr.read()).decode()[-2000:]
            raise AssertionError(f"proxy exited with {proc.returncode}: {err}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)  # polling a starting process
    raise AssertionError("proxy did not start listening")


async def stop(proc) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def bot(sqlite_url):
    """A real bot (ingest only, so what arrives stays in the inbox to be looked at)."""
    from main import BotRuntime

    runtime = BotRuntime(make_settings(sqlite_url), run_worker=False, run_sender=False,
                         analyzer=shared_analyzer())
    await runtime.start()
    yield runtime
    await runtime.stop()


async def through(proxy_url: str, bot, pki: Pki) -> None:
    """What a deployment behind ``proxy_url`` must do, checked the way WeCom and a person would."""
    from bot.sandbox.server import Sandbox
    from sqlmodel import select

    from models.tables import InboxEvent
    from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN

    settings = make_settings("sqlite://", PUBLIC_URL=proxy_url, DOCTOR_CA_FILE=str(pki.ca_file))
    report = Report()
    await check_public(settings, report, lambda _: True, datetime.now(UTC))
    assert [(r.id, r.mark) for r in report.results] == [
        ("public_dns", "✓"), ("public_tls", "✓"), ("callback_app", "✓"),
        ("callback_aibot", "✓")], report.render()
    # WeCom delivering through the proxy: encrypted, signed, with a + / = rich body.
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY, aibot_token=TEST_TOKEN,
                      aibot_aes_key=TEST_AES_KEY, bot_url=proxy_url)
    await sandbox.start()
    await sandbox._http.close()
    sandbox._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
        ssl=ssl.create_default_context(cafile=str(pki.ca_file))))
    try:
        text = "打印机卡纸 a+b/c=d %2B 100%"
        rec = await sandbox.member_says("zhangsan", text)
        assert rec["acked"] and rec["attempts"] == [200] and rec["reply"] == ""
        rec = await sandbox.aibot_says("liuxiansheng", "空调不制冷")
        assert rec["acked"] and rec["attempts"] == [200]
    finally:
        await sandbox.stop()
    async with bot.sm() as s:
        rows = list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())
    assert [r.channel for r in rows] == ["app", "aibot"]
    assert text in json.dumps(rows[0].payload, ensure_ascii=False)
    # Only the callbacks are public.
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz?verbose=1", "/metrics", "/"):
            async with http.get(proxy_url + path, ssl=ctx) as r:
                assert r.status == 404, path


def write_upstream(folder: Path, *ports: str) -> None:
    """The shipped upstream file with the test's ports for 8080 and 8082."""
    text = (DEPLOY / "nginx" / "wecom-bot-upstream.conf").read_text()
    for shipped, port in zip(("8080", "8082"), ports):
        assert f"127.0.0.1:{shipped} " in text
        text = text.replace(f"127.0.0.1:{shipped} ", f"127.0.0.1:{port} ")
    (folder / "upstream.conf").write_text(text)


async def start_nginx(folder: Path, locations: str, bot_port: str, cert: Path, key: Path):
    """nginx on loopback with the shipped upstream file (the bot first; nothing listens where
    the second ingest process would: one is down) and ``locations``. Returns (process, port)."""
    (folder / "locations.conf").write_text(locations)
    write_upstream(folder, bot_port, str(free_port()))
    port = free_port()
    temp = " ".join(f"{k}_temp_path {folder}/{k};" for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(f"""
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    {temp}
    include {folder}/upstream.conf;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        include {folder}/locations.conf;
    }}
}}
""")
    proc = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
        "-g", "daemon off; master_process off;", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        await wait_listening(port, proc)
    except BaseException:
        await stop(proc)
        raise
    return proc, port


async def test_nginx_example_in_front_of_the_bot(bot, tmp_path):
    pki = Pki(tmp_path)
    cert, key = pki.leaf("proxy")
    locations = (DEPLOY / "nginx" / "wecom-bot-locations.conf").read_text()
    assert "proxy_pass http://wecom_bot;" in locations
    proc, port = await start_nginx(tmp_path, locations, bot.url.rsplit(":", 1)[1], cert, key)
    try:
        await through(f"https://localhost:{port}", bot, pki)
    finally:
        await stop(proc)


@pytest.mark.parametrize("mistake,says", [
    # Passing $uri (the path only) instead of the request line: the query string is gone.
    ("proxy_pass http://wecom_bot$uri;",
     "收到的请求没有查询串（HTTP 400）：反向代理丢掉了 ?msg_signature=…"),
    # A path after the upstream: nginx swaps /wecom/ for /, the bot sees /callback.
    ("proxy_pass http://wecom_bot/;", "这个路径不对"),
])
async def test_the_doctor_names_a_real_nginx_mistake(bot, tmp_path, mistake, says):
    pki = Pki(tmp_path)
    cert, key = pki.leaf("proxy")
    locations = (DEPLOY / "nginx" / "wecom-bot-locations.conf").read_text()
    proc, port = await start_nginx(
        tmp_path, locations.replace("\n    proxy_pass http://wecom_bot;", f"\n    {mistake}", 1),
        bot.url.rsplit(":", 1)[1], cert, key)
    try:
        settings = make_settings("sqlite://", PUBLIC_URL=f"https://localhost:{port}",
                                 DOCTOR_CA_FILE=str(pki.ca_file))
        report = Report()
        await check_public(settings, report, lambda _: True, datetime.now(UTC))
    finally:
        await stop(proc)
    result = report.get("callback_app")
    assert report.get("public_tls").mark == "✓"
    assert result.mark == "✗" and says in result.detail[0], report.render()


async def test_nginx_production_file_parses(tmp_path):
    pki = Pki(tmp_path)
    cert, key = pki.leaf("bot", hosts=("bot.example.com",))
    site = (DEPLOY / "nginx" / "wecom-bot.conf").read_text()
    site = (site.replace("/etc/letsencrypt/live/bot.example.com/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/bot.example.com/privkey.pem", str(key))
            .replace("/etc/nginx/snippets/wecom-bot-locations.conf",
                     str(DEPLOY / "nginx" / "wecom-bot-locations.conf"))
            .replace("/etc/nginx/snippets/wecom-bot-upstream.conf",
                     str(DEPLOY / "nginx" / "wecom-bot-upstream.conf"))
            .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n")
    proc = await asyncio.create_subprocess_exec(
        NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0 and b"test is successful" in err, err.decode()


def caddy_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


async def test_caddy_example_in_front_of_the_bot(bot, tmp_path):
    pki = Pki(tmp_path)
    cert, key = pki.leaf("proxy")
    port = free_port()
    (tmp_path / "Caddyfile").write_text(f"""{{
    admin off
    auto_https disable_redirects
    skip_install_trust
}}
https://localhost:{port} {{
    bind 127.0.0.1
    tls {cert} {key}
    import {DEPLOY / "caddy" / "wecom-bot-routes.caddy"}
}}
""")
    # The first ingest process is the bot; nothing listens where the second would (one is down).
    env = caddy_env(tmp_path, BOT_UPSTREAM=f"127.0.0.1:{bot.url.rsplit(':', 1)[1]}",
                    BOT_UPSTREAM2=f"127.0.0.1:{free_port()}")
    proc = await asyncio.create_subprocess_exec(
        CADDY, "run", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        cwd=tmp_path)
    try:
        await wait_listening(port, proc)
        await through(f"https://localhost:{port}", bot, pki)
    finally:
        await stop(proc)


async def test_caddy_production_file_adapts(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        CADDY, "adapt", "--adapter", "caddyfile",
        "--config", str(DEPLOY / "caddy" / "Caddyfile"), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=caddy_env(tmp_path, BOT_DOMAIN="bot.example.com"),
        cwd=tmp_path)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    config = json.loads(out)
    server = next(iter(config["apps"]["http"]["servers"].values()))
    assert server["listen"] == [":443"]  # HTTPS, with Caddy's own certificate
    text = json.dumps(server)
    assert '"host": ["bot.example.com"]' in text and '"path": ["/wecom/*"]' in text
    assert '"dial": "127.0.0.1:8080"' in text and '"dial": "127.0.0.1:8082"' in text
    assert '"status_code": 404' in text
    assert "rewrite" not in text and "strip_path" not in text
