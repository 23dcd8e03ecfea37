"""One jieba pass that yields both segmentations the analyser needs.

``analyze()`` used to call ``tokenizer.lcut(text)`` (with the HMM, for the tokens) and
``tokenizer.lcut(text, HMM=False)`` (for extra word starts, so that a typo glued onto its
neighbour by the HMM, "100号空凋", is still seen by the catalogue). Both build the same
prefix-dictionary DAG and the same best route; only what they do with runs of single
characters differs. :func:`segment` builds the DAG and the route **once** per block and
derives both, with exactly jieba 0.42.1's rules (``Tokenizer.cut`` with ``cut_all=False``):
``tokens`` equals ``lcut(text)`` and ``plain_starts`` holds the word starts of
``lcut(text, HMM=False)``. ``tests/nlp/test_segment.py`` checks both against jieba.
"""

from __future__ import annotations

from typing import Final

import jieba
from jieba import finalseg

_RE_HAN: Final = jieba.re_han_default
_RE_SKIP: Final = jieba.re_skip_default
_RE_ENG: Final = jieba.re_eng


def segment(tokenizer: jieba.Tokenizer, text: str) -> tuple[list[str], set[int]]:
    """``(tokenizer.lcut(text), word starts of tokenizer.lcut(text, HMM=False))``."""
    tokens: list[str] = []
    plain_starts: set[int] = set()
    freq = tokenizer.FREQ
    pos = 0
    for blk in _RE_HAN.split(text):
        if not blk:
            continue
        if _RE_HAN.match(blk):
            dag = tokenizer.get_DAG(blk)
            route: dict[int, tuple[float, int]] = {}
            tokenizer.calc(blk, dag, route)
            _cut_hmm(blk, route, freq, tokens)
            _plain_starts(blk, route, pos, plain_starts)
        else:
            offset = pos
            for x in _RE_SKIP.split(blk):
                if _RE_SKIP.match(x):
                    tokens.append(x)
                    plain_starts.add(offset)
                else:
                    for i, ch in enumerate(x):
                        tokens.append(ch)
                        plain_starts.add(offset + i)
                offset += len(x)
        pos += len(blk)
    return tokens, plain_starts


def _cut_hmm(blk: str, route: dict[int, tuple[float, int]], freq: dict[str, int], out: list[str]) -> None:
    """jieba's ``__cut_DAG`` on an already computed route."""
    x = 0
    n = len(blk)
    buf = ""
    while x < n:
        y = route[x][1] + 1
        word = blk[x:y]
        if y - x == 1:
            buf += word
        else:
            if buf:
                _flush(buf, freq, out)
                buf = ""
            out.append(word)
        x = y
    if buf:
        _flush(buf, freq, out)


def _flush(buf: str, freq: dict[str, int], out: list[str]) -> None:
    if len(buf) == 1:
        out.append(buf)
    elif not freq.get(buf):
        out.extend(finalseg.cut(buf))
    else:
        out.extend(buf)


def _plain_starts(blk: str, route: dict[int, tuple[float, int]], base: int, starts: set[int]) -> None:
    """Word starts of jieba's ``__cut_DAG_NO_HMM`` (runs of single ASCII letters/digits are one word)."""
    x = 0
    n = len(blk)
    in_eng = False
    while x < n:
        y = route[x][1] + 1
        if y - x == 1 and _RE_ENG.match(blk[x]):
            if not in_eng:
                starts.add(base + x)
                in_eng = True
        else:
            in_eng = False
            starts.add(base + x)
        x = y
