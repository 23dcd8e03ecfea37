"""The benchmark script runs end to end at a CI size and checks the two engines agree."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_bench_small_run():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dispatch.py"), "--techs", "1500", "--jobs", "40",
         "--budget-ms", "1000"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    assert "technicians          : 1,500" in out
    assert "top choice identical on 40/40 jobs" in out
    assert "index  ms/job" in out and "loop   ms/job" in out and "speed-up" in out


def test_bench_with_jobs_without_coordinates():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dispatch.py"), "--techs", "1500", "--jobs", "40",
         "--budget-ms", "1000", "--unlocated", "0.5"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    assert "without coordinates" in out
    assert "top choice identical on 40/40 jobs" in out and "identical on 40/40" in out.splitlines()[-1]
