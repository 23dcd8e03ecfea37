"""``PUBLIC_URL`` as WeCom will meet it: the name resolves, HTTPS answers with a certificate a
public client trusts that does not expire within 14 days, and a signed URL-verification request —
built exactly as WeCom builds it when the admin presses 保存 [doc 90930; signature and
encryption doc 91144] — is answered with the bare decrypted ``echostr`` within WeCom's 1 s. That
last request goes through every proxy on the way, so a proxy that drops the query string, a
wrong path, another service answering or different settings in the running bot all show here.

The ICP filing (备案) of the domain and its owner (the console's 域名主体校验) cannot be seen from
here: the guide says what the console answers when it is wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import aiohttp
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID
from yarl import URL

from bot.crypto import WeComCrypto, signature
from bot.settings import Settings
from handlers.doctor.report import Report, Result
from handlers.doctor.texts import Msg, say

#: a certificate must stay valid this much longer (days)
CERT_MIN_DAYS = 14
#: WeCom waits this long for the answer to its URL verification (PROTOCOL.md §3) (ms)
VERIFY_LIMIT_MS = 1000
TIMEOUT = 10.0
# OpenSSL verify codes (x509_vfy.h) the advice tells apart
_EXPIRED, _SELF_SIGNED, _HOSTNAME = 10, 18, 62


@dataclass(frozen=True)
class Cert:
    not_after: datetime
    issuer: str
    names: tuple[str, ...]


def ssl_context(ca_file: str = "") -> ssl.SSLContext:
    """The system's trust store, or only ``ca_file`` (DOCTOR_CA_FILE: tests, staging)."""
    return ssl.create_default_context(cafile=ca_file or None)


def _read_cert(der: bytes) -> Cert:
    cert = x509.load_der_x509_certificate(der)
    cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    org = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    issuer = str((cn or org)[0].value) if (cn or org) else cert.issuer.rfc4514_string()
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        names = tuple(str(n) for n in san.value.get_values_for_type(x509.DNSName)) + tuple(
            str(ip) for ip in san.value.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME))
    return Cert(cert.not_valid_after_utc, issuer, names)


async def _handshake(host: str, port: int, ctx: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), TIMEOUT)
    try:
        return writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


def _join(found: list[Msg]) -> Msg:
    return "；".join(z for z, _ in found), "; ".join(e for _, e in found)


async def check_dns(url: URL) -> Result:
    host, port = url.host or "", url.port or 443
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return Result("public_dns", "fail", say("dns.fail", host=host, error=str(exc)[:120]),
                      (say("dns.fix", host=host),))
    addrs = sorted({str(info[4][0]) for info in infos})
    zh, en = say("dns.ok", host=host, addrs=", ".join(addrs))
    if all(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addrs):
        note = say("dns.private")
        zh, en = zh + note[0], en + note[1]
    return Result("public_dns", "ok", (zh, en))


async def check_tls(url: URL, ca_file: str, now: datetime) -> Result:
    if url.scheme != "https":
        return Result("public_tls", "fail", say("tls.http"), (say("tls.http.fix"),))
    host, port = url.host or "", url.port or 443
    look = ssl.create_default_context()
    look.check_hostname, look.verify_mode = False, ssl.CERT_NONE  # only to read the certificate
    try:
        cert = _read_cert(await _handshake(host, port, look))
    except (OSError, asyncio.TimeoutError, ssl.SSLError, ValueError) as exc:
        error = str(exc)[:120] or type(exc).__name__
        return Result("public_tls", "fail", say("tls.connect", host=host, port=port, error=error),
                      (say("tls.connect.fix", port=port),))
    found: list[Msg] = []
    advice: list[Msg] = []
    date = cert.not_after.strftime("%Y-%m-%d")
    days = (cert.not_after - now).days
    if cert.not_after <= now:
        found.append(say("tls.expired", date=date))
        advice.append(say("tls.renew.fix"))
    try:
        await _handshake(host, port, ssl_context(ca_file))
    except ssl.SSLCertVerificationError as exc:
        code = exc.verify_code
        if code == _SELF_SIGNED:
            found.append(say("tls.self_signed"))
            advice.append(say("tls.public_ca.fix"))
        elif code == _HOSTNAME:
            names = ", ".join(cert.names) or "—"
            found.append(say("tls.hostname", host=host, names=names))
            advice.append(say("tls.hostname.fix", host=host))
        elif code != _EXPIRED or not found:
            found.append(say("tls.untrusted", reason=exc.verify_message or str(exc)[:120]))
            advice.append(say("tls.public_ca.fix"))
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        found.append(say("tls.untrusted", reason=str(exc)[:120] or type(exc).__name__))
        advice.append(say("tls.public_ca.fix"))
    if not found and days < CERT_MIN_DAYS:
        found.append(say("tls.soon", days=days, date=date, min=CERT_MIN_DAYS))
        advice.append(say("tls.renew.fix"))
    if found:
        return Result("public_tls", "fail", _join(found), tuple(advice))
    return Result("public_tls", "ok", say("tls.ok", issuer=cert.issuer, days=days, date=date))


def signed_verification(base: str, path: str, crypto: WeComCrypto, now: float) -> tuple[str, str]:
    """The GET WeCom sends when the admin saves the callback URL, and the plaintext it expects
    back: ``?msg_signature=…&timestamp=…&nonce=…&echostr=…`` with ``echostr`` the encrypted
    random string, percent-encoded once (``+ / =`` included) [doc 90930, doc 91144]."""
    plain = str(secrets.randbelow(10 ** 18))
    echostr = crypto.encrypt(plain)
    ts, nonce = str(int(now)), str(secrets.randbelow(10 ** 10))
    sig = signature(crypto.token, ts, nonce, echostr)
    query = f"msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={quote(echostr, safe='')}"
    return f"{base}{path}?{query}", plain


async def check_callback(check_id: str, base: str, path: str, crypto: WeComCrypto,
                         ctx: ssl.SSLContext | bool, settings_vars: tuple[str, str],
                         timer: Callable[[], float] = time.perf_counter) -> Result:
    url, plain = signed_verification(base, path, crypto, time.time())
    shown = base + path
    started = timer()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            async with http.get(URL(url, encoded=True), ssl=ctx, allow_redirects=False) as resp:
                body = (await resp.content.read(4096)).decode("utf-8", "replace")
                status = resp.status
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return Result(check_id, "fail", say("cb.connect", url=shown,
                                            error=str(exc)[:120] or type(exc).__name__),
                      (say("tls.connect.fix", port=URL(base).port or 443),))
    ms = round((timer() - started) * 1000)
    token_var, key_var = settings_vars
    text = body.strip()
    snippet = text[:60].replace("\n", " ") or "—"
    if status == 200 and body == plain:
        if ms > VERIFY_LIMIT_MS:
            return Result(check_id, "fail", say("cb.slow", ms=ms), (say("cb.slow.fix"),))
        return Result(check_id, "ok", say("cb.ok", url=shown, ms=ms))
    if status == 200:
        return Result(check_id, "fail", say("cb.other_body", snippet=snippet),
                      (say("cb.other_body.fix", url=shown),))
    if status == 400 and text.startswith(("missing msg_signature", "missing echostr")):
        return Result(check_id, "fail", say("cb.query", url=shown, status=status),
                      (say("cb.query.fix"),))
    if status == 403 and text.startswith("signature mismatch"):
        return Result(check_id, "fail", say("cb.signature", var=token_var),
                      (say("cb.same_settings.fix"),))
    if status == 403 and text.startswith("receiveid mismatch"):
        return Result(check_id, "fail", say("cb.receiveid"), (say("cb.same_settings.fix"),))
    if status == 400 and ("decrypt" in text or "padding" in text or "base64" in text
                          or "plaintext" in text or "length" in text):
        return Result(check_id, "fail", say("cb.decrypt", var=key_var),
                      (say("cb.same_settings.fix"),))
    if status == 404 and text.endswith("callback is not configured"):
        return Result(check_id, "fail", say("cb.not_configured"),
                      (say("cb.not_configured.fix", vars=f"{token_var} / {key_var}"),))
    if status in (404, 405, 301, 302, 307, 308):
        return Result(check_id, "fail", say("cb.not_found", url=shown),
                      (say("cb.not_found.fix", url=shown),))
    if status in (502, 503, 504):
        return Result(check_id, "fail", say("cb.upstream", status=status),
                      (say("cb.upstream.fix"),))
    return Result(check_id, "fail", say("cb.status", status=status, snippet=snippet),
                  (say("cb.other_body.fix", url=shown),))


async def check_public(settings: Settings, report: Report, wanted: Callable[[str], bool],
                       now: datetime, timer: Callable[[], float] = time.perf_counter) -> None:
    """Adds public_dns, public_tls, callback_app and callback_aibot to ``report``. ``timer``:
    seconds, to time the answer to the signed verification (tests inject theirs)."""
    base = settings.PUBLIC_URL.strip().rstrip("/")
    ids = ("public_dns", "public_tls", "callback_app", "callback_aibot")
    if not base:
        report.add(Result("public_dns", "fail", say("public.unset"), (say("public.unset.fix"),)))
        for check_id in ids[1:]:
            report.add(Result(check_id, "skip", say("skip.public")))
        return
    url = URL(base)
    dns = await check_dns(url) if wanted("public_dns") else Result(
        "public_dns", "skip", say("skip.by_setting"))
    report.add(dns)
    if dns.status == "fail":
        for check_id in ids[1:]:
            report.add(Result(check_id, "skip", say("skip.public")))
        return
    tls = await check_tls(url, settings.DOCTOR_CA_FILE, now) if wanted("public_tls") else Result(
        "public_tls", "skip", say("skip.by_setting"))
    report.add(tls)
    # With a bad certificate WeCom would not get this far; the callback is still tried, so one
    # run shows every problem on the way.
    ctx: ssl.SSLContext | bool = (ssl_context(settings.DOCTOR_CA_FILE)
                                  if tls.status == "ok" else False)
    channels = (("callback_app", "/wecom/callback", "WECOM_TOKEN", "WECOM_AES_KEY",
                 settings.WECOM_CORP_ID),
                ("callback_aibot", "/wecom/aibot", "AIBOT_TOKEN", "AIBOT_AES_KEY", ""))
    for check_id, path, token_var, key_var, receiveid in channels:
        token = getattr(settings, token_var).get_secret_value()
        if not wanted(check_id):
            report.add(Result(check_id, "skip", say("skip.by_setting")))
        elif not token:
            report.add(Result(check_id, "skip", say("cb.unused")))
        else:
            crypto = WeComCrypto(token.strip(), getattr(settings, key_var).get_secret_value(),
                                 receiveid.strip())
            report.add(await check_callback(check_id, base, path, crypto,
                                            ctx if url.scheme == "https" else False,
                                            (token_var, key_var), timer))
