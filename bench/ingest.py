"""Ingest benchmark: encrypted callbacks against the running bot vs a bare aiohttp handler.

    .venv/bin/python bench/ingest.py [--requests 5000] [--rate 500] [--seconds 10]
                                     [--concurrency 64] [--db sqlite|postgresql]
                                     [--worker | --in-process-worker]

Both servers run as separate processes on loopback; this process generates the load. For each
it prints throughput (closed loop, ``--concurrency`` in flight) and ack latency p50/p99 at a
fixed arrival rate (open loop, ``--rate`` per second), then the ratios. Afterwards it counts the
bot's stored callbacks (inbox and, on SQLite, the ingest's spool): every acked callback must
be stored.

By default the bot runs ingest-only (RUN_WORKER=false), which measures the ack path alone;
``--worker`` also runs the handlers, timers and outbox sender in a second process
(``main.py worker``) against a sandbox in this process, at the same time as the load;
``--in-process-worker`` runs them inside the ingest process instead (one core for all of it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (AES_KEY, CORP_ID, SECRET, TOKEN, bench_database,  # noqa: E402
                          bot_process, database_arguments, free_port, wait_up,
                          worker_process)
from bot.crypto import WeComCrypto  # noqa: E402


def bare_server(port: int) -> None:
    """The baseline: an aiohttp handler that only returns 200."""
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/wecom/callback", ok)
    app.router.add_get("/healthz", lambda r: ok(r))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def make_payloads(n: int, offset: int) -> list[tuple[str, bytes]]:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    out = []
    for i in range(n):
        msgid = 8_000_000_000_000_000_000 + offset + i
        xml = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA["
               f"user{i % 200}]]></FromUserName><CreateTime>1795400000</CreateTime><MsgType>"
               f"<![CDATA[text]]></MsgType><Content><![CDATA[3号店咖啡机坏了，今天能来修吗 "
               f"13812345678 #{i}]]></Content><MsgId>{msgid}</MsgId><AgentID>1000002</AgentID></xml>")
        ts, nonce = "1795400000", str(i)
        enc, sig = crypto.seal(xml, ts, nonce)
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{enc}]]>"
                f"</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>").encode()
        out.append((f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce={nonce}", body))
    return out


async def closed_loop(url: str, payloads, concurrency: int) -> tuple[float, int]:
    conn = aiohttp.TCPConnector(limit=concurrency)
    ok = 0
    it = iter(payloads)
    async with aiohttp.ClientSession(connector=conn) as http:
        async def worker():
            nonlocal ok
            for path, body in it:
                async with http.post(url + path, data=body) as r:
                    await r.read()
                    ok += r.status == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return ok / (time.perf_counter() - t0), ok


async def open_loop(url: str, payloads, rate: float) -> tuple[list[float], int, float]:
    """Requests start on a fixed schedule whatever the server does; latency per request."""
    conn = aiohttp.TCPConnector(limit=0)
    lat: list[float] = []
    ok = 0
    async with aiohttp.ClientSession(connector=conn) as http:
        async def one(path, body):
            nonlocal ok
            t = time.perf_counter()
            async with http.post(url + path, data=body) as r:
                await r.read()
                ok += r.status == 200
            lat.append(time.perf_counter() - t)

        tasks = []
        t0 = time.perf_counter()
        for i, (path, body) in enumerate(payloads):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path, body)))
        await asyncio.gather(*tasks)
        achieved = len(payloads) / (time.perf_counter() - t0)
    return lat, ok, achieved


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


async def count_inbox(db_url: str, where: str = "") -> int:
    from sqlalchemy import text

    from models.db import make_engine

    from models.spool import spool_path

    keys: set[str] = set()  # distinct callbacks: a row being moved is in both for a moment
    path = spool_path(db_url)  # SQLite: callbacks acked and not yet moved by a worker
    for url in ([f"sqlite:///{path}"] if path and path.exists() and not where else []) + [db_url]:
        eng = make_engine(url)
        async with eng.connect() as c:
            keys |= set((await c.execute(text(f"SELECT dedupe_key FROM inbox {where}"))).scalars())
        await eng.dispose()
    return len(keys)


async def measure(name: str, url: str, args, offset: int) -> dict:
    warm = make_payloads(200, offset)
    await closed_loop(url, warm, 16)
    tput, ok1 = await closed_loop(url, make_payloads(args.requests, offset + 1_000_000),
                                  args.concurrency)
    lat, ok2, achieved = await open_loop(url, make_payloads(int(args.rate * args.seconds),
                                                            offset + 2_000_000), args.rate)
    r = {"name": name, "throughput": tput, "p50": pct(lat, 50), "p99": pct(lat, 99),
         "achieved_rate": achieved}
    r["acked"] = len(warm) + ok1 + ok2
    print(f"{name:>12}: {tput:8.0f} callbacks/s (closed loop, {args.concurrency} in flight)   "
          f"at {achieved:.0f}/s: p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms   "
          f"acked {r['acked']}", flush=True)
    return r


@contextlib.asynccontextmanager
async def _nothing():
    yield


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=64)
    database_arguments(ap)
    ap.add_argument("--worker", action="store_true",
                    help="handlers and sender in a separate worker process")
    ap.add_argument("--in-process-worker", action="store_true",
                    help="handlers and sender inside the ingest process")
    ap.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    sandbox = None
    api_base = "http://127.0.0.1:9"  # unused in ingest-only mode
    if args.worker or args.in_process_worker:
        from bot.sandbox.server import Sandbox

        sandbox = Sandbox(corp_id=CORP_ID, agent_id=1000002, secret=SECRET, app_token=TOKEN,
                          app_aes_key=AES_KEY)
        api_base = await sandbox.start()
    bare_port = free_port()
    bare = await asyncio.create_subprocess_exec(sys.executable, __file__, "--bare-server",
                                                str(bare_port))
    try:
        async with bench_database(args.db, args.pg_url) as (db_url, tmp), bot_process(
                db_url, api_base, tmp,
                RUN_WORKER="true" if args.in_process_worker else "false") as bot_url, \
                (worker_process(db_url, api_base, tmp, WORKER_POLL_SECONDS="0.05")
                 if args.worker else _nothing()):
            await wait_up(f"http://127.0.0.1:{bare_port}", bare)
            mode = ("in a separate worker process" if args.worker else
                    "in the ingest process" if args.in_process_worker else "off (ingest only)")
            print(f"machine: {os.cpu_count()} cores; database: {args.db}; handlers and sender: "
                  f"{mode}", flush=True)
            b = await measure("bare aiohttp", f"http://127.0.0.1:{bare_port}", args, 0)
            r = await measure("bot", bot_url, args, 10_000_000)
            stored = await count_inbox(db_url)
            if sandbox is not None:
                handled = await count_inbox(db_url, "WHERE status = 'done'")
                print(f"handled while measuring: {handled} of {stored} events; replies sent: "
                      f"{len(sandbox.calls('message/send'))}")
            print(f"\nthroughput ratio bot/bare: {r['throughput'] / b['throughput']:.2f} "
                  f"(issue 15's target: >= 0.5, with handlers running in another process)")
            print(f"p99 ack at {args.rate:.0f}/s: bot {r['p99']:.2f} ms vs bare "
                  f"{b['p99']:.2f} ms (target <= 20 ms)")
            print(f"durability: {r['acked']} acked, {stored} stored (inbox and spool) "
                  f"({'every acked callback stored' if stored >= r['acked'] else 'MISSING ROWS'})")
            if stored < r["acked"]:
                raise SystemExit(1)
    finally:
        if bare.returncode is None:
            bare.send_signal(signal.SIGTERM)
            await bare.wait()
        if sandbox:
            await sandbox.stop()


if __name__ == "__main__":
    if "--bare-server" in sys.argv:
        bare_server(int(sys.argv[sys.argv.index("--bare-server") + 1]))
    else:
        asyncio.run(main())
