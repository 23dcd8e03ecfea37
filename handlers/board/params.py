"""Path and query parameters checked against the operation's own OpenAPI entry (openapi.OPS):
a path that does not fit is a 404, a query value that does not fit a 400 — before any handler."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from handlers.board.openapi import Op
from handlers.board.usecases import Refused


def _fits(value: str, schema: dict[str, Any]) -> bool:
    kind = schema.get("type", "string")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", value):
            return False
        n = int(value)
        return schema.get("minimum", n) <= n <= schema.get("maximum", n)
    if kind == "boolean":
        return value in ("true", "false")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**6):
        return False
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        return False
    if schema.get("format") == "date-time":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return False
        return parsed.tzinfo is not None and "T" in value.upper()
    return True


def check(op: Op, match_info: Any, query: Any) -> None:
    for p in op.params:
        if p["in"] == "path":
            if not _fits(match_info.get(p["name"], ""), p["schema"]):
                raise Refused(404, "not-found", "Not found",
                              f"{p['name']}: no such {p['name']}")
        elif p["in"] == "query" and p["name"] in query:
            values = query.getall(p["name"])
            if len(values) != 1 or not _fits(values[0], p["schema"]):
                raise Refused(400, "invalid-parameter", "Invalid parameter",
                              f"{p['name']}: does not fit the documented schema")
