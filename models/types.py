"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
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
