"""A session maker and the write gate on each database (``db_url``: SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from models.db import WriteGate, make_engine, make_sessionmaker


@pytest.fixture
async def db(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine), WriteGate.for_url(db_url)
    await engine.dispose()
