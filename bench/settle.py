"""Benchmark: one month of completed tickets, quoted, split and settled per provider.

    .venv/bin/python bench/settle.py                 # 1,000,000 tickets, 500 providers
    .venv/bin/python bench/settle.py --tickets 20000 # CI size

Tickets are generated deterministically (seeded, per chunk) inside worker
processes; each worker quotes its chunks (Ticket.from_dict + quote + split)
into mergeable PeriodTotals, which are merged and closed (rebates, SLA,
satisfaction) in the parent.  Two baselines are measured in the same run:
the full pipeline on a small slice in one process (linear-scaling check) and a
naive float-sum loop over the same slice (what "no engine" would cost).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.settlement.loader import load_books  # noqa: E402
from handlers.settlement.engine.period import PeriodAccumulator, PeriodTotals  # noqa: E402

MONTH = "2026-11"
CHUNK = 10_000
SERVICES = ("空调安装", "油烟机清洗", "咖啡机维修")
REGIONS = ("310115", "310104", "310112", "110105", "110108", "110102", "440305", "440304",
           "330106", "320102", "510107", "420106", "610113", "500103", "120101", "370202")
TAGS = ((), (), (), ("老客户",), ("企业",))


SATISFACTION = (5, 5, 5, 4, 4, 3, 2, 1)


def gen_chunk(seed: int, chunk: int, n: int, providers: int) -> Iterator[dict[str, Any]]:
    """Deterministic ticket dicts for one chunk (independent of worker count).

    ``below(m)`` draws exactly what ``rng.randrange(m)`` (and ``rng.choice``'s index) draws on
    CPython (``Random._randbelow``: ``getrandbits(m.bit_length())`` until below ``m``), without
    randrange's argument checks; ``randrange(a, b)`` is ``a + below(b - a)``.  The tickets are
    the same as those of the plain ``randrange``/``choice`` calls.
    """
    rng = random.Random(seed * 1_000_003 + chunk)
    bits, rand = rng.getrandbits, rng.random

    def below(m: int) -> int:
        k = m.bit_length()
        r = bits(k)
        while r >= m:
            r = bits(k)
        return r

    base = chunk * CHUNK
    for i in range(n):
        p = below(providers)
        region = REGIONS[below(len(REGIONS))]
        day = 1 + below(30)
        t: dict[str, Any] = {
            "id": f"T{base + i:08d}",
            "service": SERVICES[below(3)],
            "region": region,
            "completed_at": f"{MONTH}-{day:02d}T{below(24):02d}:{below(60):02d}:00+08:00",
            "quantities": {"hours": (1 + below(8)) / 2, "pipe_m": below(15),
                           "units": 1 + below(4), "filters": below(12), "km": below(40)},
            "floor": 1 + below(29),
            "customer_tags": list(TAGS[below(len(TAGS))]),
            "provider": f"P{p:03d}",
            "technician": f"P{p:03d}-E{below(10)}",
            "address": f"addr-{below(200_000)}",
            "sla_breached": rand() < 0.002,
            "satisfaction": SATISFACTION[below(len(SATISFACTION))],
        }
        if region.startswith("110") and rand() < 0.5:
            t["location"] = [round(116.1 + rand() * 0.6, 4), round(39.7 + rand() * 0.4, 4)]
        if rand() < 0.25:
            t["parts"] = [{"sku": f"S{below(50)}", "name": "配件", "cost": f"{(500 + below(29500)) / 100:.2f}",
                           "qty": 1 + below(2)}]
        yield t


def _sizes(total: int) -> list[tuple[int, int]]:
    return [(c, min(CHUNK, total - c * CHUNK)) for c in range((total + CHUNK - 1) // CHUNK)]


def work(args: tuple[str, int, list[tuple[int, int]], int]) -> tuple[PeriodTotals, float, float]:
    """Worker: generate + settle some chunks; returns totals, generation seconds, settle seconds."""
    books_dir, seed, chunks, providers = args
    acc = PeriodAccumulator(load_books(books_dir), MONTH)
    gen_s = settle_s = 0.0
    # The books and modules are kept for the whole run, and a chunk's 10,000 ticket dicts make no
    # reference cycles: with the collector on, its passes over them cost about as much as
    # generating them.  Setup is frozen out of collection and the collector paused for the loop.
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for chunk, n in chunks:
            t0 = time.perf_counter()
            tickets = list(gen_chunk(seed, chunk, n, providers))
            t1 = time.perf_counter()
            for t in tickets:
                acc.add(t)
            settle_s += time.perf_counter() - t1
            gen_s += t1 - t0
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
    return acc.totals, gen_s, settle_s


def naive_float(tickets: list[dict[str, Any]]) -> float:
    """Baseline: a float-sum 'price' loop with no books, rules, rounding or splits."""
    total = 0.0
    for t in tickets:
        q = t["quantities"]
        total += 200.0 + q["hours"] * 80.0 + sum(float(p["cost"]) * 1.15 for p in t.get("parts", ()))
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--providers", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20261101)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--baseline-tickets", type=int, default=10_000)
    ap.add_argument("--books", default=str(ROOT / "config" / "pricebooks"))
    a = ap.parse_args()

    # --- baselines (same run, one process) -------------------------------------------------
    nb = min(a.baseline_tickets, a.tickets)
    sample = list(gen_chunk(a.seed, 0, nb, a.providers))
    t0 = time.perf_counter()
    naive_float(sample)
    naive_s = time.perf_counter() - t0
    small_totals, _, small_s = work((a.books, a.seed, _sizes(nb), a.providers))

    # --- full run ------------------------------------------------------------------------------
    chunks = _sizes(a.tickets)
    shards = [chunks[i::a.workers] for i in range(a.workers)]
    t0 = time.perf_counter()
    if a.workers > 1:
        with mp.get_context("fork").Pool(a.workers) as pool:
            parts = pool.map(work, [(a.books, a.seed, s, a.providers) for s in shards])
    else:
        parts = [work((a.books, a.seed, chunks, a.providers))]
    totals = PeriodTotals()
    for p, _, _ in parts:
        totals.merge(p)
    acc = PeriodAccumulator(load_books(a.books), MONTH)
    acc.totals = totals
    result = acc.result()
    wall = time.perf_counter() - t0
    gen_cpu = sum(g for _, g, _ in parts)
    settle_cpu = sum(s for _, _, s in parts)

    n = result.tickets
    print(f"tickets settled      : {n:,} ({len(result.providers)} providers, {len(result.technicians)} technicians, "
          f"{a.workers} workers)")
    print(f"period id            : {result.id}   gross {result.gross} CNY, rebates "
          f"{sum(p.rebate for p in result.providers)} CNY")
    print(f"total wall seconds   : {wall:.2f}  (incl. generation; {n / wall:,.0f} tickets/s)")
    print(f"settle CPU seconds   : {settle_cpu:.2f}  ({n / settle_cpu:,.0f} tickets/s per core; "
          f"generation {gen_cpu:.2f} CPU s)")
    small_rate = small_totals.tickets / small_s
    print(f"baseline {nb:,} tickets : {small_s:.3f} s  ({small_rate:,.0f} tickets/s per core) -> "
          f"per-core rate ratio full/small = {(n / settle_cpu) / small_rate:.2f} (1.00 = linear)")
    print(f"naive float loop     : {naive_s:.4f} s for {nb:,} ({nb / naive_s:,.0f} tickets/s) -> "
          f"engine costs {(small_s / naive_s):.0f}x the naive loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
