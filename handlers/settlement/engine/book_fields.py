"""Field readers for price books: each checks one value and fails with ``file:line: field``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, NoReturn

from .books import BookError
from .money import to_decimal


class Fields:
    """Reading and checking the fields of one book's YAML document.

    ``doc`` is the document ``handlers/config_file.read_yaml`` made (passed in, not imported:
    the engine stays pure): ``doc.data`` the plain values, ``doc.line(path)`` a field's line,
    ``doc.problem(path, message, field=…)`` the ``file:line: field: message`` problem.
    Paths are text, as in the messages: ``services[2].charges[0].tiers[1].up_to``.
    """

    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def line(self, path: str) -> int:
        return self.doc.line(path)

    def fail(self, path: str, message: str, line: int | None = None) -> NoReturn:
        raise BookError(self.doc.problem(path, message, field=path or "(document)", line=line))

    def mapping(self, value: Any, path: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
        allowed = set(allowed)
        for k in value:
            if k not in allowed:
                self.fail(f"{path}.{k}" if path else k, f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def seq(self, obj: dict[str, Any], key: str, path: str, required: bool = False) -> list[Any]:
        p = join(path, key)
        if key not in obj or obj[key] is None:
            if required:
                self.fail(p if key in obj else path, f"missing required field {key!r}" if key not in obj else "must not be empty")
            return []
        if not isinstance(obj[key], list):
            self.fail(p, "must be a list")
        return obj[key]

    def string(self, obj: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        p = join(path, key)
        if key not in obj:
            if default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        v = obj[key]
        if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
            self.fail(p, "must be a string")
        v = str(v).strip()
        if not v:
            self.fail(p, "must not be empty")
        return v

    def dec(
        self, obj: dict[str, Any], key: str, path: str, default: Decimal | None = None, *,
        required: bool = False, minimum: Decimal | None = None, positive: bool = False,
    ) -> Decimal:
        p = join(path, key)
        if key not in obj or obj[key] is None:
            if required or default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        try:
            v = to_decimal(obj[key])
        except ValueError as exc:
            self.fail(p, f"must be a number ({exc})")
        if positive and v <= 0:
            self.fail(p, "must be greater than 0")
        if minimum is not None and v < minimum:
            self.fail(p, f"must be >= {minimum}")
        return v

    def opt_dec(self, obj: dict[str, Any], key: str, path: str, minimum: Decimal | None = None) -> Decimal | None:
        if obj.get(key) is None:
            return None
        return self.dec(obj, key, path, required=True, minimum=minimum)

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int | None = None, minimum: int | None = None) -> int:
        p = join(path, key)
        if key not in obj:
            if default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(p, "must be an integer")
        if minimum is not None and v < minimum:
            self.fail(p, f"must be >= {minimum}")
        return v

    def boolean(self, obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
        if key not in obj:
            return default
        if not isinstance(obj[key], bool):
            self.fail(join(path, key), "must be true or false")
        return obj[key]

    def choice(self, obj: dict[str, Any], key: str, path: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self.string(obj, key, path, default)
        if v not in options:
            self.fail(join(path, key), f"must be one of {', '.join(options)} (got {v!r})")
        return v

    def check_document(self) -> None:
        """Fail on the first thing the YAML itself got wrong (in file order): no document, a
        key given twice, a value no YAML constructor reads (``2026-02-30``, ``!tag``)."""
        if self.doc.empty:
            self.fail("", "empty file", line=1)
        for issue in self.doc.issues:
            field = None if issue.kind == "duplicate" else "(yaml)"
            raise BookError(self.doc.problem(issue.path, issue.reason, field=field, line=issue.line))


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
