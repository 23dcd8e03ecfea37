"""Throwaway certificates and HTTPS fronts on loopback, for the doctor's PUBLIC_URL checks.

``Pki(tmp_path)`` makes a CA (``ca.pem``, handed to the doctor as DOCTOR_CA_FILE) and signs leaf
certificates that are good, expired, nearly expired or for another host; ``self_signed`` makes one
no CA vouches for. ``Front`` serves HTTPS on 127.0.0.1 with such a certificate and forwards to an
upstream like a reverse proxy would — or breaks on purpose (drops the query string, maps the path
wrong, answers itself, answers slowly, has no upstream)."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from yarl import URL


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Doctor Test")])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Pki:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.ca_cert = (x509.CertificateBuilder().subject_name(_name("Doctor Test CA"))
                        .issuer_name(_name("Doctor Test CA"))
                        .public_key(self.ca_key.public_key())
                        .serial_number(x509.random_serial_number())
                        .not_valid_before(now - timedelta(days=400))
                        .not_valid_after(now + timedelta(days=3650))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                        .add_extension(x509.KeyUsage(True, False, False, False, False, True,
                                                     True, False, False), True)
                        .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, name: str, *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
             days_left: float = 90, days_old: float = 30,
             self_signed: bool = False) -> tuple[Path, Path]:
        """(cert.pem with its chain, key.pem) valid from ``days_old`` ago for ``days_left``
        more days (negative: expired)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        sans = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h)
                for h in hosts]
        issuer, signer = ((_name(hosts[0]), key) if self_signed
                          else (self.ca_cert.subject, self.ca_key))
        cert = (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(issuer)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=days_old))
                .not_valid_after(now + timedelta(days=days_left))
                .add_extension(x509.SubjectAlternativeName(sans), False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .sign(signer, hashes.SHA256()))
        cert_file, key_file = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        chain = cert.public_bytes(serialization.Encoding.PEM)
        if not self_signed:
            chain += self.ca_cert.public_bytes(serialization.Encoding.PEM)
        cert_file.write_bytes(chain)
        key_file.write_bytes(_pem_key(key))
        return cert_file, key_file


class Stopwatch:
    """The doctor's timer (``check_public(timer=…)``): a slow hop moves it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Front:
    """HTTPS on 127.0.0.1 in front of ``upstream``. ``mode``: ``pass`` (a correct proxy: path,
    query string and body unchanged), ``strip_query``, ``wrong_path`` (forwards /wecom/x as
    /x), ``answer`` (answers 200 itself: another site), ``slow`` (takes 1.2 s on ``stopwatch``),
    ``waf`` (a web firewall in front refuses: 403), ``no_upstream`` (the bot is not running:
    502)."""

    def __init__(self, upstream: str, cert: Path, key: Path, mode: str = "pass",
                 stopwatch: Stopwatch | None = None) -> None:
        self.upstream, self.mode = upstream.rstrip("/"), mode
        self.stopwatch = stopwatch
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.runner: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.port = 0
        self.seen: list[str] = []  # the raw path and query string of every request

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path
        self.seen.append(raw)
        if self.mode == "answer":
            return web.Response(text="<html>Welcome to our site</html>", content_type="text/html")
        if self.mode == "no_upstream":
            return web.Response(status=502, text="Bad Gateway")
        if self.mode == "waf":
            return web.Response(status=403, text="Access denied by the web application firewall")
        if self.mode == "slow":
            assert self.stopwatch is not None
            self.stopwatch.now += 1.2  # a slow hop on the way; WeCom waits 1 s
        if self.mode == "strip_query":
            raw = raw.split("?", 1)[0]
        if self.mode == "wrong_path":
            raw = raw.replace("/wecom/", "/", 1)
        assert self.http is not None
        async with self.http.request(request.method, URL(self.upstream + raw, encoded=True),
                                     data=await request.read(),
                                     headers={"Content-Type": request.content_type}) as r:
            return web.Response(status=r.status, body=await r.read(),
                                content_type=r.content_type)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ctx)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.http = aiohttp.ClientSession()
        return f"https://localhost:{self.port}"

    async def stop(self) -> None:
        if self.http:
            await self.http.close()
        if self.runner:
            await self.runner.cleanup()
