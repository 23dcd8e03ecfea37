"""The HTTP API under load, each figure beside a bare aiohttp handler measured in the same run:

1. ``GET /api/tickets`` — a filtered page (status + category, 50 rows) and a deep cursor page
   over ``--tickets`` tickets (default 1,000,000, copied into PostgreSQL): p50 / p99.
   Target: p99 ≤ 100 ms for a filtered page. Also a district and a category no ticket has (a
   rare value: the worst case of a filter that must walk until its page fills).
2. ``POST /api/orders`` — orders accepted per second (ticket made by intake's use case,
   ``ticket_created`` in the inbox, idempotency row, audit), ``--clients`` at once.

    .venv/bin/python bench/api.py [--tickets 1000000] [--requests 500] [--orders 1000]
                                  [--db postgresql|sqlite]

Only the API runs (no worker): the orders' tickets are accepted and queued for dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.common import bench_database, free_port  # noqa: E402

STATUSES = ["new", "dispatched", "accepted", "in_progress", "resolved", "closed", "cancelled"]
CATEGORIES = ["repair", "install", "consult", "complaint"]
DISTRICTS = [("31", "3101", "310101", "黄浦区"), ("31", "3101", "310104", "徐汇区"),
             ("33", "3301", "330106", "西湖区"), ("11", "1101", "110105", "朝阳区")]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] * 1000


def fill_pg(url: str, n: int) -> None:
    """``n`` tickets through COPY (one customer; statuses, categories, districts, days mixed)."""
    import psycopg

    from models.db import sync_url

    dsn = sync_url(url).replace("postgresql+psycopg://", "postgresql://")
    rng = random.Random(16)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(dsn) as c:
        c.execute("INSERT INTO customer (id, name, created_at) VALUES (1, 'bench', now())")
        cols = ("number, status, customer_id, category, priority, title, description, fields, "
                "phone, province_code, city_code, district_code, district, channel, "
                "conversation_key, reporter, template, urge_count, created_at, updated_at, "
                "version")
        with c.cursor().copy(f"COPY ticket ({cols}) FROM STDIN") as cp:
            for i in range(n):
                p, ci, d, dn = rng.choice(DISTRICTS)
                at = start + timedelta(seconds=i * 25)
                cp.write_row((f"GD{at:%Y%m%d}-{i % 100000:05d}{i // 100000}",
                              rng.choices(STATUSES, [2, 1, 1, 1, 3, 6, 1])[0], 1,
                              rng.choice(CATEGORIES), "normal", "咖啡机不出水", "bench", "{}",
                              f"138{i:08d}", p, ci, d, dn, "api", "api:bench", "", "", 0, at,
                              at, 1))
        c.execute("ANALYZE ticket")
        c.commit()


async def bare_server(list_body: bytes) -> tuple[web.AppRunner, str]:
    async def get(request: web.Request) -> web.Response:
        return web.Response(body=list_body, content_type="application/json")

    async def post(request: web.Request) -> web.Response:
        data = await request.json()
        return web.json_response({"order_number": data["order_number"]}, status=201)

    app = web.Application()
    app.router.add_get("/list", get)
    app.router.add_post("/orders", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def api_server(url: str) -> tuple[web.AppRunner, str, str, object]:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from handlers.board.api import Api
    from handlers.board.config import ApiConfig
    from handlers.board.keys import SCOPES, create_key
    from handlers.board.webhooks import Deps
    from handlers.intake.config import load_intake_config
    from handlers.services import Services
    from models.db import WriteGate, make_engine, make_sessionmaker, migrate, write_session
    from scheduler.clock import SystemClock

    migrate(url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    gate = WriteGate.for_url(url)
    clock = SystemClock()
    cfg = ApiConfig()
    services = Services(load_intake_config(), cfg)
    services.add(sm, as_type=async_sessionmaker)
    services.add(Deps(sm, gate, clock, None))
    async with write_session(sm, gate) as s:
        key = await create_key(s, "bench", list(SCOPES), now=clock.now(),
                               rate_per_minute=100000)
    api = Api(sm, gate, services, clock, cfg)
    app = web.Application()
    app.add_subapp("/api/", api.make_app())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}", key, engine


async def timed_gets(http: aiohttp.ClientSession, urls: list[str], headers: dict) -> list[float]:
    out = []
    for u in urls:
        t = time.perf_counter()
        async with http.get(u, headers=headers) as r:
            await r.read()
            assert r.status == 200, (r.status, await r.text())
        out.append(time.perf_counter() - t)
    return out


async def orders_per_second(http, url: str, n: int, clients: int, headers: dict,
                            tag: str) -> float:
    queue = list(range(n))

    async def client() -> None:
        while queue:
            i = queue.pop()
            body = {"order_number": f"{tag}{i}", "phone": f"139{i:08d}", "address": "南京东路1号",
                    "province": "上海市", "city": "上海市", "district": "黄浦区",
                    "items": [{"sku": "KFR-35GW", "name": "空调", "quantity": 1}]}
            async with http.post(url, json=body, headers={**headers,
                                                          "Idempotency-Key": f"{tag}{i}"}) as r:
                await r.read()
                assert r.status == 201, (r.status, await r.text())

    t = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return n / (time.perf_counter() - t)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    async with bench_database(args.db, args.pg_url) as (url, _work):
        from models.db import migrate

        migrate(url)
        if args.db == "postgresql" and args.tickets:
            t = time.perf_counter()
            await asyncio.to_thread(fill_pg, url, args.tickets)
            print(f"copied {args.tickets:,} tickets in {time.perf_counter() - t:.1f} s")
        runner, base, key, engine = await api_server(url)
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/tickets?status=new&category=repair&limit=50",
                                headers=headers) as r:
                page = await r.read()
            bare, bare_url = await bare_server(page)
            filtered = f"{base}/api/tickets?status=new&category=repair&limit=50"
            async with http.get(filtered, headers=headers) as r:
                data = json.loads(await r.read())
            cursor = data["next_cursor"] or ""
            deep = (f"{base}/api/tickets?status=closed&district=朝阳区&limit=50"
                    f"&cursor={int(cursor or 10**6) // 2}")
            await timed_gets(http, [filtered] * 20, headers)  # warm up both
            await timed_gets(http, [f"{bare_url}/list"] * 20, {})
            # values no ticket has: without an index of its own the filter walks every ticket
            rare = [f"{base}/api/tickets?district=崇明区&limit=50",
                    f"{base}/api/tickets?category=invoice&limit=50"]
            f_lat = await timed_gets(http, [filtered] * args.requests, headers)
            d_lat = await timed_gets(http, [deep] * args.requests, headers)
            r_lat = await timed_gets(http, rare * max(1, args.requests // 10), headers)
            b_lat = await timed_gets(http, [f"{bare_url}/list"] * args.requests, {})
            o_rate = await orders_per_second(http, f"{base}/api/orders", args.orders,
                                             args.clients, headers, "B")
            b_rate = await orders_per_second(http, f"{bare_url}/orders", args.orders,
                                             args.clients, {}, "X")
        await runner.cleanup()
        await bare.cleanup()
        await engine.dispose()  # type: ignore[attr-defined]
    print(f"\ndatabase: {args.db}, {args.tickets:,} tickets; {args.requests} requests each")
    print(f"{'':34}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'GET /api/tickets filtered page':34}{pct(f_lat, 50):9.2f}{pct(f_lat, 99):9.2f}"
          f"   target p99 ≤ 100 ms: {'✔' if pct(f_lat, 99) <= 100 else '✘'}")
    print(f"{'GET /api/tickets deep cursor page':34}{pct(d_lat, 50):9.2f}{pct(d_lat, 99):9.2f}")
    print(f"{'GET /api/tickets rare value':34}{pct(r_lat, 50):9.2f}{pct(r_lat, 99):9.2f}"
          "   (district / category no ticket has)")
    print(f"{'bare aiohttp, same JSON':34}{pct(b_lat, 50):9.2f}{pct(b_lat, 99):9.2f}")
    print(f"ratio filtered p99 / bare p99: {pct(f_lat, 99) / pct(b_lat, 99):.1f}×")
    print(f"\nPOST /api/orders, {args.clients} clients: {o_rate:,.0f} orders/s; bare aiohttp "
          f"POST: {b_rate:,.0f}/s; ratio {o_rate / b_rate:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
