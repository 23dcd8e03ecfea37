"""Structured logs with the event id, and no secret ever printed.

Every log record carries ``event_id`` from a context variable set by the worker (and the
callback route). The formatter redacts configured secret values and ``access_token``-like
query parameters from the finished line, tracebacks included.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable

event_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("event_id", default="-")

_TOKEN_RE = re.compile(r"(access_token|corpsecret|key|secret)=([^&\s\"']+)", re.I)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return _TOKEN_RE.sub(lambda m: f"{m.group(1)}=***", text)


class EventIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.event_id = event_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    _std = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "event_id"}

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "event_id": getattr(record, "event_id", "-"),
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in self._std})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        # Redact the finished line: message, extras and traceback alike.
        return self.redact(json.dumps(out, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(event_id)s] %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def setup_logging(level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(EventIdFilter())
    redact = Redactor(secrets)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # APScheduler logs every run of the timer sweep (once a second) at INFO: noise, not news.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
