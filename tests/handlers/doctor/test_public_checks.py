"""PUBLIC_URL, entirely on loopback: throwaway CA and certificates (``cryptography``), HTTPS
served by aiohttp on 127.0.0.1, the bot's real callback routes behind it. A good certificate
passes; expired, nearly expired, self-signed, wrong-host and unknown-CA ones fail with advice; a
proxy that drops the query string, maps the path wrong, answers itself, is slow or has no bot
behind it fails the signed verification with the advice for that."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from handlers.doctor.public import check_public
from handlers.doctor.report import Report
from tests.handlers.doctor.conftest import Edge, line
from tests.handlers.doctor.tls import Front, Stopwatch


async def public_report(settings, stopwatch: Stopwatch | None = None) -> Report:
    report = Report()
    await check_public(settings, report, lambda check_id: check_id not in settings.doctor_skip,
                       datetime.now(UTC), **({"timer": stopwatch} if stopwatch else {}))
    return report


def settings(sqlite_url, url: str, pki=None, **over):
    from tests.conftest import make_settings

    return make_settings(sqlite_url, PUBLIC_URL=url,
                         DOCTOR_CA_FILE=str(pki.ca_file) if pki else "", **over)


async def test_good_certificate_and_a_correct_proxy(sqlite_url, public, pki):
    url, front, _ = public
    report = await public_report(settings(sqlite_url, url, pki))
    assert [r.mark for r in report.results] == ["✓"] * 4, report.render()
    _, text = line(report, "public_tls")
    assert "颁发者 Doctor Test CA" in text and "expires in 89 days" in text
    _, text = line(report, "public_dns")
    assert "localhost → 127.0.0.1" in text and "内网地址" in text  # said, not failed
    assert any(p.startswith("/wecom/aibot?msg_signature=") for p in front.seen)


async def test_public_url_not_set_mentions_the_icp_rule(sqlite_url):
    report = await public_report(settings(sqlite_url, ""))
    result, text = line(report, "public_dns")
    assert result.mark == "✗" and "没有设置 PUBLIC_URL" in text
    assert "备案主体" in text and "域名主体校验未通过" in text
    assert [r.mark for r in report.results[1:]] == ["–"] * 3


async def test_a_name_that_does_not_resolve(sqlite_url, monkeypatch):
    import asyncio

    async def no_such_name(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_name)
    report = await public_report(settings(sqlite_url, "https://bot.example.com"))
    result, text = line(report, "public_dns")
    assert result.mark == "✗" and "bot.example.com 解析失败：" in text and "A 记录" in text


async def test_plain_http_is_not_enough(sqlite_url, parts):
    edge = await parts(Edge())
    report = await public_report(settings(sqlite_url, edge.url))
    result, text = line(report, "public_tls")
    assert result.mark == "✗" and "PUBLIC_URL 是 http://，不是 https://" in text
    assert "docs/deploy/" in text
    assert report.get("callback_app").mark == "✓"  # the rest is still checked


@pytest.mark.parametrize("leaf,expect,fix", [
    (dict(days_left=-3), "证书已于 {expired} 过期", "续期证书"),
    (dict(days_left=10), "天后（{soon}）过期（不足 14 天）", "certbot renew"),
    (dict(self_signed=True), "证书是自签名的", "公开 CA"),
    (dict(hosts=("bot.example.com",)), "证书不包含 localhost（证书上是 bot.example.com）",
     "为 localhost 签发证书"),
])
async def test_bad_certificates(sqlite_url, parts, pki, leaf, expect, fix):
    from datetime import timedelta

    edge = await parts(Edge())
    cert, key = pki.leaf("leaf", **leaf)
    front = await parts(Front(edge.url, cert, key))
    report = await public_report(settings(sqlite_url, f"https://localhost:{front.port}", pki))
    result, text = line(report, "public_tls")
    days = leaf.get("days_left", 0)
    when = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")
    assert result.mark == "✗", text
    assert expect.format(expired=when, soon=when) in text and fix in text
    # The callback is still tried (without trusting the certificate), so one run shows all.
    assert report.get("callback_app").mark == "✓"


async def test_a_ca_the_doctor_was_not_told_to_trust(sqlite_url, public):
    url, _, _ = public
    report = await public_report(settings(sqlite_url, url))  # no DOCTOR_CA_FILE
    result, text = line(report, "public_tls")
    assert result.mark == "✗" and "证书不受信任：" in text and "fullchain.pem" in text


async def test_nothing_listens(sqlite_url):
    from tests.procs import free_port

    port = free_port()
    report = await public_report(settings(sqlite_url, f"https://localhost:{port}"))
    result, text = line(report, "public_tls")
    assert result.mark == "✗" and f"localhost:{port} 连不上：" in text
    assert "反向代理在运行吗" in text and "安全组" in text
    # The callback is still tried, and says the same from its side.
    result, text = line(report, "callback_app")
    assert result.mark == "✗" and f"https://localhost:{port}/wecom/callback 连不上：" in text


@pytest.mark.parametrize("mode,expect,fix", [
    ("strip_query", "收到的请求没有查询串（HTTP 400）：反向代理丢掉了 ?msg_signature=…",
     "proxy_pass 后面只写上游（proxy_pass http://wecom_bot;"),
    ("wrong_path", "HTTP 404：{url}/wecom/callback 这个路径不对", "/wecom/ 开头的路径原样转发"),
    ("answer", "HTTP 200，但回答的不是解密后的 echostr（<html>Welcome to our site</html>）",
     "不是别的网站或默认页"),
    ("no_upstream", "HTTP 502：代理连不上机器人", "python main.py serve 在运行吗"),
    ("slow", "回答用了 1200 毫秒：企业微信只等 1 秒", "检查服务器负载"),
    ("waf", "HTTP 403：Access denied by the web application firewall",
     "由反向代理转给了本机器人"),
])
async def test_proxies_that_break_the_verification(sqlite_url, parts, pki, mode, expect, fix):
    edge = await parts(Edge())
    cert, key = pki.leaf("good")
    stopwatch = Stopwatch()
    front = await parts(Front(edge.url, cert, key, mode=mode, stopwatch=stopwatch))
    url = f"https://localhost:{front.port}"
    report = await public_report(settings(sqlite_url, url, pki), stopwatch)
    result, text = line(report, "callback_app")
    assert report.get("public_tls").mark == "✓"
    assert result.mark == "✗" and expect.format(url=url) in text and fix in text, text


@pytest.mark.parametrize("edge,expect,fix", [
    (dict(token="AnotherToken1"), "签名不符（HTTP 403）：在运行的机器人与这里的 WECOM_TOKEN 不同",
     "同一份设置"),
    (dict(aes_key="a" * 43), "解密失败（HTTP 400）：在运行的机器人的 WECOM_AES_KEY 不同",
     "同一份设置"),
    (dict(corp_id="ww1111111111111111"),
     "receiveid 不符（HTTP 403）：在运行的机器人用的是另一个企业ID", "同一份设置"),
])
async def test_the_running_bot_has_other_settings(sqlite_url, parts, pki, edge, expect, fix):
    bot = await parts(Edge(**edge))
    cert, key = pki.leaf("good")
    front = await parts(Front(bot.url, cert, key))
    report = await public_report(settings(sqlite_url, f"https://localhost:{front.port}", pki))
    result, text = line(report, "callback_app")
    assert result.mark == "✗" and expect in text and fix in text, text


async def test_ai_bot_callback_turned_off_in_the_bot_or_not_used(sqlite_url, parts, pki):
    bot = await parts(Edge(aibot=False))
    cert, key = pki.leaf("good")
    front = await parts(Front(bot.url, cert, key))
    url = f"https://localhost:{front.port}"
    report = await public_report(settings(sqlite_url, url, pki))
    result, text = line(report, "callback_aibot")
    assert result.mark == "✗" and "机器人没有开启这个回调（HTTP 404）" in text
    assert "设置 AIBOT_TOKEN / AIBOT_AES_KEY 后重启 serve" in text
    from pydantic import SecretStr

    unused = settings(sqlite_url, url, pki).model_copy(
        update={"AIBOT_TOKEN": SecretStr(""), "AIBOT_AES_KEY": SecretStr("")})
    result, text = line(await public_report(unused), "callback_aibot")
    assert result.mark == "–" and "未使用" in text
