"""File loading (the only module of the engine that touches the filesystem for input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from handlers.settlement.engine.books import Book, BookError, parse_book


def load_book(path: str | Path) -> Book:
    """Read and validate one YAML price book; errors name ``path`` as given."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BookError(str(path), 0, "(file)", exc.strerror or str(exc)) from None
    return parse_book(text, str(path))


def load_books(path: str | Path) -> list[Book]:
    """Load a single book file, or every ``*.yaml``/``*.yml`` in a directory (sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        if not files:
            raise BookError(str(path), 0, "(directory)", "no *.yaml price books found")
        return [load_book(f) for f in files]
    return [load_book(p)]


def load_json(path: str | Path) -> Any:
    """Read one JSON document."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield one dict per non-blank line of a JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
