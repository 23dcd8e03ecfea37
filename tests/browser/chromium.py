"""A real Chromium for the browser tests (the ``chromium`` fixture, conftest.py): Debian's
``chromium`` and ``fonts-wqy-microhei`` (the screenshots show Chinese), installed with apt-get
when missing. Playwright drives it through ``executable_path``; it never downloads a browser of
its own.

Installing is idempotent (only missing packages are installed; nothing happens when they are
there) and fails the test with what to do, never skips it: we run as root on a machine that
reaches Debian's package mirror (CI included), so a browser that cannot be had is a broken
machine, not a reason to test less.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "fonts-wqy-microhei")
#: Chromium as the tests run it: headless, no GPU, and no traffic of its own (updates, sync,
#: QUIC, field trials); ``--host-resolver-rules`` keeps it on loopback like the suite's guard.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-proxy-server",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
APT_TIMEOUT = 900  # seconds for update + install on a cold machine


def _installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                         capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.strip() == "install ok installed"


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=300", *args]
    try:  # waits for another apt/dpkg run to finish rather than failing on its lock
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(cmd, -1, str(exc.stdout or ""),
                                           f"apt-get {args[0]} took over {APT_TIMEOUT} s")


def ensure_packages(packages: tuple[str, ...], what: str) -> None:
    """Debian ``packages`` installed (apt-get as root, idempotent), or the test fails saying
    how to install them — never skips."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail(f"{what} needs {' and '.join(missing)}; install: apt-get install -y "
                    f"{' '.join(missing)}", pytrace=False)
    result = _apt("install", "-y", "--no-install-recommends", *missing)
    if result.returncode != 0:
        update = _apt("update")
        result = _apt("install", "-y", "--no-install-recommends", *missing) \
            if update.returncode == 0 else update
    if result.returncode != 0:
        pytest.fail(f"could not install {' '.join(missing)} for {what} (exit "
                    f"{result.returncode}): apt-get update && apt-get install -y "
                    f"{' '.join(missing)}", pytrace=False)


def ensure_chromium() -> Path:
    """/usr/bin/chromium with CJK fonts, installed with apt-get if missing (idempotent)."""
    missing = [p for p in PACKAGES if not _installed(p)]
    if CHROMIUM.exists() and not missing:
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail(f"the browser test needs {' and '.join(missing or PACKAGES)}; they are "
                    f"missing and cannot be installed here (needs apt-get as root). Install "
                    f"them: apt-get install -y {' '.join(PACKAGES)}", pytrace=False)
    install = ["install", "-y", "--no-install-recommends", *(missing or ["chromium"])]
    result = _apt(*install)
    if result.returncode != 0:  # a fresh machine: the package lists may be absent or stale
        update = _apt("update")
        result = _apt(*install) if update.returncode == 0 else update
    if result.returncode != 0 or not CHROMIUM.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        pytest.fail(f"could not install {' '.join(missing or ['chromium'])} with apt-get "
                    f"(exit {result.returncode}); the browser test needs {CHROMIUM}. Install "
                    f"it by hand: apt-get update && apt-get install -y {' '.join(PACKAGES)}\n"
                    f"{tail}", pytrace=False)
    return CHROMIUM
