"""The benchmark script runs end to end at a CI size."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_bench_small_run():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "settle.py"), "--tickets", "3000", "--workers", "1",
         "--baseline-tickets", "1000"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    assert "tickets settled      : 3,000" in out
    assert "tickets/s" in out and "naive float loop" in out
