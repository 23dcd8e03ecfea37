"""Benchmark: rank jobs over 10,000 seeded random technicians, index vs plain Python loop.

    .venv/bin/python bench/dispatch.py                       # 10,000 technicians, 1,000 jobs
    .venv/bin/python bench/dispatch.py --techs 2000 --jobs 50  # CI size
    .venv/bin/python bench/dispatch.py --unlocated 0.3         # 30 % of jobs without coordinates

Both engines rank the same jobs (with random exclusion lists) against the same data; the top
choice must be identical on every job (asserted), and the full top-k lists and filter counts
are compared too.  Prints p50 / p99 milliseconds per job for each and the ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.dispatch.engine import TechnicianIndex, rank  # noqa: E402
from handlers.dispatch.config import load_scoring_config as load_config  # noqa: E402
from handlers.dispatch.engine.synthetic import NOW, random_exclusions, random_jobs, random_technicians  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--techs", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=1_000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--budget-ms", type=float, default=5.0, help="fail if index p99 exceeds this")
    ap.add_argument("--unlocated", type=float, default=0.0,
                    help="fraction of jobs without coordinates (default 0: figures stay comparable)")
    args = ap.parse_args()

    config = load_config(ROOT / "config" / "dispatch.yaml")
    techs = random_technicians(args.techs, seed=args.seed)
    jobs = random_jobs(args.jobs, seed=args.seed + 1, unlocated=args.unlocated)
    rng = random.Random(args.seed + 2)
    excludes = [random_exclusions(rng, techs, rng.randint(0, 3)) for _ in jobs]

    t0 = time.perf_counter()
    index = TechnicianIndex.build(techs)
    build_s = time.perf_counter() - t0

    for job, ex in list(zip(jobs, excludes))[:20]:  # warm-up
        index.rank(job, config, NOW, k=args.k, exclude=ex)

    t_index: list[float] = []
    fast = []
    for job, ex in zip(jobs, excludes):
        t = time.perf_counter()
        fast.append(index.rank(job, config, NOW, k=args.k, exclude=ex))
        t_index.append(time.perf_counter() - t)

    t_loop: list[float] = []
    slow = []
    for job, ex in zip(jobs, excludes):
        t = time.perf_counter()
        slow.append(rank(job, techs, config, NOW, k=args.k, exclude=ex))
        t_loop.append(time.perf_counter() - t)

    same_top = same_k = 0
    for a, b in zip(fast, slow):
        top_a = a.chosen.tech_id if a.chosen else None
        top_b = b.chosen.tech_id if b.chosen else None
        assert top_a == top_b, f"top choice differs for {a.job['id']}: index {top_a} vs loop {top_b}"
        same_top += 1
        if ([(c.tech_id, c.total) for c in a.candidates] == [(c.tech_id, c.total) for c in b.candidates]
                and a.rejected_counts == b.rejected_counts):
            same_k += 1
    assert same_k == len(jobs), f"top-{args.k} lists differ on {len(jobs) - same_k} jobs"

    eligible = statistics.mean(d.eligible_count for d in fast)
    nobody = sum(1 for d in fast if d.chosen is None)
    i50, i99, l50, l99 = pct(t_index, .5), pct(t_index, .99), pct(t_loop, .5), pct(t_loop, .99)
    print(f"technicians          : {args.techs:,}  (index build {build_s * 1000:.1f} ms)")
    unlocated = sum(1 for j in jobs if j.location is None)
    print(f"jobs                 : {len(jobs):,}  (mean eligible {eligible:.1f}, no candidate {nobody}"
          + (f", without coordinates {unlocated})" if args.unlocated else ")"))
    print(f"index  ms/job        : p50 {i50:.3f}  p99 {i99:.3f}  mean {statistics.mean(t_index) * 1000:.3f}")
    print(f"loop   ms/job        : p50 {l50:.3f}  p99 {l99:.3f}  mean {statistics.mean(t_loop) * 1000:.3f}")
    print(f"speed-up (loop/index): p50 {l50 / i50:.1f}x  p99 {l99 / i99:.1f}x")
    print(f"agreement            : top choice identical on {same_top}/{len(jobs)} jobs, "
          f"top-{args.k} + filter counts identical on {same_k}/{len(jobs)}")
    if i99 > args.budget_ms:
        raise SystemExit(f"index p99 {i99:.3f} ms exceeds budget {args.budget_ms} ms")


if __name__ == "__main__":
    main()
