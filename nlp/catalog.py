"""Typo-tolerant matching of device and store names against a catalogue.

Exact names and aliases are found first (longest match). When none is
present, a character-vote pre-filter proposes text windows that share all but
one or two characters with a catalogue term at the same alignment, and
``rapidfuzz`` verifies them (Levenshtein distance ≤ 1, ranked by
``fuzz.ratio``): 空凋 → 空调, 咖啡鸡 → 咖啡机, 静安寺点 → 静安寺店.
A window that is itself an ordinary dictionary word (空间, 空气) is rejected.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from nlp.lexicon import Entry, TermIndex
from nlp.text import normalize


@dataclass(frozen=True, slots=True)
class CatalogHit:
    start: int
    end: int
    name: str  # canonical catalogue name
    matched: str  # the text that matched
    score: float  # 100 for exact matches, rapidfuzz ratio otherwise


_CJK_RUN = re.compile("[\u4e00-\u9fff]+")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class Catalog:
    def __init__(self, entries: Iterable[Entry], is_common_word: Callable[[str], bool] | None = None) -> None:
        self._canonical: dict[str, str] = {}
        for entry in entries:
            for term in entry.terms:
                self._canonical.setdefault(normalize(term), entry.name)
        self._index = TermIndex(dict(self._canonical))
        self._terms: list[str] = [t for t in self._canonical if all(_is_cjk(c) for c in t)]
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for tid, term in enumerate(self._terms):
            for pos, ch in enumerate(term):
                self._postings.setdefault(ch, []).append((tid, pos))
        self._is_common_word = is_common_word or (lambda _w: False)
        chars = "".join(map(re.escape, sorted(self._postings)))
        self._term_chars = re.compile(f"[{chars}]" if chars else "(?!)")  # a character of a CJK term

    @property
    def names(self) -> list[str]:
        return sorted(set(self._canonical.values()))

    def exact(self, text: str) -> list[CatalogHit]:
        hits = []
        for start, end, term, name in self._index.scan(text):
            # ASCII aliases (pos, wifi) must stand as whole words: not inside "position"
            if _is_ascii_word(term[0]) and start > 0 and _is_ascii_word(text[start - 1]):
                continue
            if _is_ascii_word(term[-1]) and end < len(text) and _is_ascii_word(text[end]):
                continue
            hits.append(CatalogHit(start, end, str(name), term, 100.0))
        return hits

    def fuzzy(self, text: str, token_starts: frozenset[int] | None = None) -> list[CatalogHit]:
        """Near misses (one edit) of CJK terms of 2+ characters, best first.

        With ``token_starts`` (offsets where jieba tokens begin), a near miss of a
        short term (≤ 3 characters) must begin a token: in 门店开门 the window 店开
        straddles two words and is not a typo of 空开.
        """
        postings = self._postings
        # (term, alignment) -> characters in common there, in order of first vote; the characters
        # of the catalogue's terms are found in C
        ballots = [(tid, m.start() - pos)
                   for m in self._term_chars.finditer(text) for tid, pos in postings[m.group()]]
        if not ballots:
            return []
        votes = Counter(ballots)
        best: dict[tuple[int, int], CatalogHit] = {}
        for (tid, start), count in votes.items():
            term = self._terms[tid]
            size = len(term)
            if count < size - (2 if size >= 5 else 1) or count >= size and text.startswith(term, start):
                continue
            for length in (size, size - 1, size + 1) if size >= 4 else (size,):
                lo, hi = max(start, 0), start + length
                # the cheap tests first; all of them must pass, in any order
                if size <= 3 and token_starts is not None and lo not in token_starts:
                    continue
                window = text[lo:hi]
                if len(window) != length or _CJK_RUN.fullmatch(window) is None:
                    continue
                if Levenshtein.distance(window, term, score_cutoff=1) > 1:
                    continue
                if size <= 3 and self._is_common_word(window):
                    continue  # 空间 / 空气 are words, not typos of 空调
                score = fuzz.ratio(window, term)
                key = (lo, hi)
                if key not in best or score > best[key].score:
                    best[key] = CatalogHit(lo, hi, self._canonical[term], window, score)
        return sorted(best.values(), key=lambda h: (-h.score, -(h.end - h.start), h.start))

    def match(self, text: str, token_starts: frozenset[int] | None = None) -> CatalogHit | None:
        """The first exact mention, else the best fuzzy one, else None."""
        exact = self.exact(text)
        if exact:
            return exact[0]
        fuzzy = self.fuzzy(text, token_starts)
        return fuzzy[0] if fuzzy else None
