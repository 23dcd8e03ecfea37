"""Domain dictionaries (devices, brands, faults, stores) and exact term scanning.

Dictionary files are plain UTF-8 text, one entry per line, fields separated
by ``|``; ``#`` starts a comment and blank lines are ignored::

    # devices.txt / brands.txt / stores.txt:  name | alias, alias, ...
    咖啡机 | 咖啡机器, 意式咖啡机, coffee machine
    # faults.txt:  phrase | urgency | alias, alias, ...
    漏水 | high | 滴水, 渗水

The shipped defaults live in ``nlp/data/``; files with the same names in the
configuration directory (``config/nlp/`` by default) are added on top.
Every problem is reported as :class:`DictionaryError` naming file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nlp.text import normalize

URGENCIES: Final[tuple[str, ...]] = ("low", "normal", "high", "urgent")
DATA_DIR: Final[Path] = Path(__file__).resolve().parent / "data"
DICTIONARY_FILES: Final[tuple[str, ...]] = ("devices.txt", "brands.txt", "faults.txt", "stores.txt")
MAX_TERM_LENGTH: Final[int] = 40


class DictionaryError(ValueError):
    """A dictionary file is malformed; the message reads ``file:line: field 'x': problem``."""

    def __init__(self, path: Path | str, line: int, field: str, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}:{line}: field '{field}': {problem}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One dictionary entry: its canonical name, aliases and (faults only) urgency."""

    name: str
    aliases: tuple[str, ...] = ()
    urgency: str | None = None
    source: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


_LAYOUTS: Final[dict[str, tuple[str, ...]]] = {
    "faults.txt": ("name", "urgency", "aliases"),
}
_DEFAULT_LAYOUT: Final[tuple[str, ...]] = ("name", "aliases")


def _check_term(term: str, path: Path, lineno: int, field: str) -> str:
    if len(term) < 2:
        raise DictionaryError(path, lineno, field, f"{term!r} is too short (at least 2 characters)")
    if len(term) > MAX_TERM_LENGTH:
        raise DictionaryError(path, lineno, field, f"{term[:10]!r}… is longer than {MAX_TERM_LENGTH} characters")
    if any(ch in term for ch in "\t,，|"):
        raise DictionaryError(path, lineno, field, f"{term!r} contains a separator character")
    return term


def parse_dictionary(path: Path, lines: Iterable[str] | None = None) -> list[Entry]:
    """Parse and validate one dictionary file (``lines`` overrides reading ``path``)."""
    layout = _LAYOUTS.get(path.name, _DEFAULT_LAYOUT)
    if lines is None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DictionaryError(path, 0, "file", f"not valid UTF-8 ({exc.reason})") from exc
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) > len(layout):
            raise DictionaryError(
                path, lineno, "line", f"{len(fields)} fields, expected at most {len(layout)} ({' | '.join(layout)})"
            )
        fields += [""] * (len(layout) - len(fields))
        values = dict(zip(layout, fields))
        name = values["name"]
        if not name:
            raise DictionaryError(path, lineno, "name", "is empty")
        _check_term(name, path, lineno, "name")
        key = normalize(name)
        if key in seen:
            raise DictionaryError(path, lineno, "name", f"{name!r} duplicates line {seen[key]}")
        seen[key] = lineno
        aliases: list[str] = []
        raw_aliases = values["aliases"].replace("，", ",")
        if raw_aliases:
            for alias in raw_aliases.split(","):
                alias = alias.strip()
                if not alias:
                    raise DictionaryError(path, lineno, "aliases", "contains an empty alias (stray comma?)")
                aliases.append(_check_term(alias, path, lineno, "aliases"))
        urgency: str | None = None
        if "urgency" in values:
            urgency = values["urgency"]
            if urgency not in URGENCIES:
                raise DictionaryError(path, lineno, "urgency", f"{urgency!r} is not one of {', '.join(URGENCIES)}")
        entries.append(Entry(name, tuple(aliases), urgency, f"{path}:{lineno}"))
    return entries


def merge_entries(*groups: Iterable[Entry]) -> list[Entry]:
    """Merge dictionaries; a later entry with the same name replaces the earlier one."""
    merged: dict[str, Entry] = {}
    for group in groups:
        for entry in group:
            merged[entry.name] = entry
    return list(merged.values())


@dataclass(frozen=True)
class Lexicon:
    devices: tuple[Entry, ...]
    brands: tuple[Entry, ...]
    faults: tuple[Entry, ...]
    stores: tuple[Entry, ...]

    @classmethod
    def load(cls, config_dir: Path | None) -> Lexicon:
        """Load the shipped dictionaries plus those found in ``config_dir`` (if any)."""
        if config_dir is not None and not config_dir.is_dir():
            raise DictionaryError(config_dir, 0, "directory", "does not exist or is not a directory")
        loaded: dict[str, tuple[Entry, ...]] = {}
        for filename in DICTIONARY_FILES:
            groups = [parse_dictionary(DATA_DIR / filename)]
            if config_dir is not None and (config_dir / filename).is_file():
                groups.append(parse_dictionary(config_dir / filename))
            loaded[filename.removesuffix(".txt")] = tuple(merge_entries(*groups))
        return cls(**loaded)

    def all_terms(self) -> Iterator[str]:
        for group in (self.devices, self.brands, self.faults, self.stores):
            for entry in group:
                yield from entry.terms


class TermIndex:
    """Exact, longest-leftmost, non-overlapping scanning for a set of terms.

    A compiled character class of the terms' first characters finds, in C, the next place a
    term could start; there the terms are looked up by their first two characters (the
    lengths of those terms, longest first), so a scan costs a few slice look-ups per
    possible start and nothing per other character.
    """

    def __init__(self, terms: dict[str, object]) -> None:
        self._values: dict[str, object] = dict(terms)
        lengths: dict[str, set[int]] = {}
        for term in self._values:
            lengths.setdefault(term[:2], set()).add(len(term))
        #: first two characters (or the whole one-character term) -> term lengths, longest first
        self._lengths: dict[str, tuple[int, ...]] = {
            head: tuple(sorted(ls, reverse=True)) for head, ls in lengths.items()
        }
        self._singles = frozenset(term for term in self._values if len(term) == 1)
        firsts = sorted({term[0] for term in self._values})
        self._first = re.compile("[" + "".join(map(re.escape, firsts)) + "]") if firsts else None

    def __contains__(self, term: str) -> bool:
        return term in self._values

    def get(self, term: str) -> object | None:
        return self._values.get(term)

    def scan(self, text: str) -> Iterator[tuple[int, int, str, object]]:
        """Yield ``(start, end, term, value)`` for longest non-overlapping matches."""
        if self._first is None:
            return
        search, lengths, values, singles = self._first.search, self._lengths, self._values, self._singles
        i = 0
        while (m := search(text, i)) is not None:
            i = m.start()
            for length in lengths.get(text[i : i + 2], ()):
                term = text[i : i + length]
                if len(term) == length and term in values:
                    yield i, i + length, term, values[term]
                    i += length
                    break
            else:
                if text[i] in singles:
                    yield i, i + 1, text[i], values[text[i]]
                i += 1
