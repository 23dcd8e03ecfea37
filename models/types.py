"""Column types shared by every table."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

#: The bot's business time zone: local days (ticket numbers), dates people read, shifts. The
#: pure packages that may not import models/ (nlp/, the engines) state the same zone themselves;
#: tests/test_layering.py checks that they agree.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the Python side on every backend.

    SQLite has no time zones, so values are stored as naive UTC and given ``UTC`` back on read.
    A naive datetime on write is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_list() -> list[Any]:
    """An empty list, as a column's ``default_factory`` (not ``list`` itself: see below)."""
    return []


def new_dict() -> dict[str, Any]:
    """An empty dict, as a column's ``default_factory``."""
    return {}


# pydantic asks ``inspect.signature`` of a field's default factory each time a model is built
# (whether it wants the validated data); for the builtin ``list`` that parses its text
# signature with ``ast``, ~70 µs a field — a created ticket builds dozens of rows. A signature
# given once answers at once (~1 µs).
new_list.__signature__ = new_dict.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
