"""Length-preserving text normalisation shared by every extractor.

All extractors work on the normalised text so that character offsets
(spans) are identical between the original and the normalised string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Full-width ASCII (U+FF01..U+FF5E) -> ASCII, ideographic space -> space,
# ASCII upper case -> lower case.  Every mapping is one char -> one char.
_TABLE: dict[int, int] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_TABLE[0x3000] = 0x20
for _code in range(ord("A"), ord("Z") + 1):
    _TABLE[_code] = _code + 32
for _code in range(0xFF21, 0xFF3B):  # full-width A-Z -> a-z
    _TABLE[_code] = _code - 0xFEE0 + 32
_TABLE.update({ord("￥"): ord("¥"), ord("－"): ord("-"), ord("—"): ord("-"), ord("–"): ord("-")})


def normalize(text: str) -> str:
    """Return ``text`` with full-width forms folded and ASCII lower-cased.

    The result always has the same length as the input.
    """
    return text.translate(_TABLE)


class Span(NamedTuple):
    """A matched piece of the (normalised) message: ``text[start:end]``."""

    start: int
    end: int
    kind: str
    value: str

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def overlaps_any(spans: list[Span], start: int, end: int) -> bool:
    return any(s.overlaps(start, end) for s in spans)


class Claimed:
    """Character positions of ``text`` already taken by spans.

    ``overlaps`` costs O(length of the queried span) in C, independent of how many
    spans were added, so checking every match of a pattern against every span found
    so far stays linear in the text (``overlaps_any`` over a growing list is quadratic
    in the number of matches: 1,000 amounts in one message made 500,000 comparisons).
    """

    __slots__ = ("_marks",)

    def __init__(self, size: int, spans: Iterable[Span] = ()) -> None:
        self._marks = bytearray(size)
        for span in spans:
            self.add(span.start, span.end)

    def overlaps(self, start: int, end: int) -> bool:
        return self._marks.find(1, start, end) >= 0

    def add(self, start: int, end: int) -> None:
        self._marks[start:end] = b"\x01" * (end - start)
