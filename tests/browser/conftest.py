"""The browser tests' Chromium: Debian's, installed with apt-get when missing (chromium.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import ensure_chromium


@pytest.fixture(scope="session")
def chromium() -> Path:
    return ensure_chromium()
