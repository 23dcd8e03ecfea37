"""File loading for settlement (the engine reads no files): price books, JSON, JSON Lines.

A price book is read with the one YAML reader (``handlers/config_file.read_yaml``: plain values
with decimals as written, and the line of every field) and validated by the engine's
``build_book``; every problem is a ``BookError`` ``file:line: field.path: message``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from handlers.config_file import Problem, YamlSyntaxError, read_yaml
from handlers.settlement.engine.book_parser import build_book
from handlers.settlement.engine.books import Book, BookError


def parse_book(text: str, source: str = "<string>") -> Book:
    """Parse and validate a price book from YAML ``text``; ``source`` names it in errors."""
    try:
        doc = read_yaml(text, source, decimals=True)
    except YamlSyntaxError as exc:
        raise BookError(Problem(source, exc.line, "(yaml)", exc.problem)) from None
    return build_book(doc)


def load_book(path: str | Path) -> Book:
    """Read and validate one YAML price book; errors name ``path`` as given."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BookError(Problem(str(path), 0, "(file)", exc.strerror or str(exc))) from None
    return parse_book(text, str(path))


def load_books(path: str | Path) -> list[Book]:
    """Load a single book file, or every ``*.yaml``/``*.yml`` in a directory (sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        if not files:
            raise BookError(Problem(str(path), 0, "(directory)", "no *.yaml price books found"))
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
