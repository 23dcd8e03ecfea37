"""Length-preserving text normalisation shared by every extractor.

All extractors work on the normalised text so that character offsets
(spans) are identical between the original and the normalised string.
"""

from __future__ import annotations

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
