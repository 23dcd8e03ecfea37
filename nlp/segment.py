"""One jieba pass that yields both segmentations the analyser needs, faster than jieba.

``analyze()`` used to call ``tokenizer.lcut(text)`` (with the HMM, for the tokens) and
``tokenizer.lcut(text, HMM=False)`` (for extra word starts, so that a typo glued onto its
neighbour by the HMM, "100号空凋", is still seen by the catalogue). Both build the same
prefix-dictionary DAG and the same best route; only what they do with runs of single
characters differs. :func:`segment` computes the route **once** per block and derives both,
with exactly jieba 0.42.1's rules (``Tokenizer.cut`` with ``cut_all=False``): ``tokens``
equals ``lcut(text)`` and ``plain_starts`` holds the word starts of ``lcut(text, HMM=False)``.
``tests/nlp/test_segment.py`` checks both against jieba.

Same results, less work per character (issue 15): jieba's ``get_DAG`` + ``calc`` build a
dict of candidate lists, then score them with a generator and ``max`` over tuples, looking
every word up twice more; :func:`_route` walks the block once from right to left, scoring each
dictionary word as it finds it (one look-up per prefix; the same floating-point operations
in the same order, ties to the longer word as ``max`` over ``(score, end)`` does).
:func:`_hmm_cut` is ``jieba.finalseg.cut``, whose Viterbi copies a path list per character
and state, written with back-pointers and the four states unrolled (ties broken as jieba's
``max`` over ``(probability, state)`` does).
"""

from __future__ import annotations

from functools import cache
from math import log
from typing import Final

import jieba
from jieba import finalseg

_RE_HAN: Final = jieba.re_han_default
_RE_SKIP: Final = jieba.re_skip_default
_RE_ENG: Final = jieba.re_eng
_HMM_HAN: Final = finalseg.re_han
_HMM_SKIP: Final = finalseg.re_skip
_MIN: Final = finalseg.MIN_FLOAT
_START: Final = finalseg.start_P
_EMIT_B: Final = finalseg.emit_P["B"]
_EMIT_M: Final = finalseg.emit_P["M"]
_EMIT_E: Final = finalseg.emit_P["E"]
_EMIT_S: Final = finalseg.emit_P["S"]
_T = finalseg.trans_P
#: transition log-probabilities of the four allowed moves into each state (finalseg.PrevStatus)
_EB, _SB = _T["E"].get("B", _MIN), _T["S"].get("B", _MIN)
_MM, _BM = _T["M"].get("M", _MIN), _T["B"].get("M", _MIN)
_SS, _ES = _T["S"].get("S", _MIN), _T["E"].get("S", _MIN)
_BE, _ME = _T["B"].get("E", _MIN), _T["M"].get("E", _MIN)


def segment(tokenizer: jieba.Tokenizer, text: str) -> tuple[list[str], set[int]]:
    """``(tokenizer.lcut(text), word starts of tokenizer.lcut(text, HMM=False))``."""
    tokenizer.check_initialized()
    tokens: list[str] = []
    plain_starts: set[int] = set()
    freq = tokenizer.FREQ
    logtotal = log(tokenizer.total)
    pos = 0
    for blk in _RE_HAN.split(text):
        if not blk:
            continue
        if _RE_HAN.match(blk):
            ends = _route(blk, freq, logtotal)
            _cut_hmm(blk, ends, freq, tokens)
            _plain_starts(blk, ends, pos, plain_starts)
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


def _route(blk: str, freq: dict[str, int], logtotal: float) -> list[int]:
    """jieba's ``get_DAG`` + ``calc`` in one pass: for each position, the end (inclusive) of
    the word the best route takes from there (``route[x][1]``)."""
    n = len(blk)
    score = [0.0] * (n + 1)
    ends = list(range(n))
    get = freq.get
    for k in range(n - 1, -1, -1):
        best: float | None = None
        i = k
        f = get(blk[k])
        while f is not None:  # the fragment is a word or the prefix of one
            if f:
                s = log(f) - logtotal + score[i + 1]
                if best is None or s >= best:  # ties go to the longer word, like max((s, x))
                    best, ends[k] = s, i
            i += 1
            if i == n:
                break
            f = get(blk[k : i + 1])
        score[k] = -logtotal + score[k + 1] if best is None else best  # no word: the character, freq 1
    return ends


def _cut_hmm(blk: str, ends: list[int], freq: dict[str, int], out: list[str]) -> None:
    """jieba's ``__cut_DAG`` on an already computed route."""
    x = 0
    n = len(blk)
    buf = ""
    while x < n:
        y = ends[x] + 1
        if y - x == 1:
            buf += blk[x]
        else:
            if buf:
                _flush(buf, freq, out)
                buf = ""
            out.append(blk[x:y])
        x = y
    if buf:
        _flush(buf, freq, out)


def _flush(buf: str, freq: dict[str, int], out: list[str]) -> None:
    if len(buf) == 1:
        out.append(buf)
    elif not freq.get(buf):
        _hmm_cut(buf, out)
    else:
        out.extend(buf)


def _hmm_cut(sentence: str, out: list[str]) -> None:
    """``jieba.finalseg.cut``: Han runs through the HMM, the rest split as it does."""
    for blk in _HMM_HAN.split(sentence):
        if _HMM_HAN.match(blk):
            force = finalseg.Force_Split_Words
            for word in _hmm_words(blk):
                if word in force:
                    out.extend(word)
                else:
                    out.append(word)
        else:
            out.extend(x for x in _HMM_SKIP.split(blk) if x)


_B, _M, _E, _S = range(4)  # the HMM's states, as indexes


@cache
def _emissions() -> dict[str, tuple[float, float, float, float]]:
    """Per character its emission log-probabilities in states B, M, E, S (MIN_FLOAT when
    absent, as ``emit_p[y].get(ch, MIN_FLOAT)``): one look-up per character instead of four."""
    chars = set(_EMIT_B) | set(_EMIT_M) | set(_EMIT_E) | set(_EMIT_S)
    return {ch: (_EMIT_B.get(ch, _MIN), _EMIT_M.get(ch, _MIN), _EMIT_E.get(ch, _MIN), _EMIT_S.get(ch, _MIN))
            for ch in chars}


_NO_EMISSION: Final = (_MIN, _MIN, _MIN, _MIN)


def _hmm_words(obs: str) -> list[str]:
    """``finalseg.__cut``: the Viterbi states B/M/E/S of each character, then the words."""
    emit = _emissions().get
    eb, em, ee, es = emit(obs[0], _NO_EMISSION)
    b, m, e, s = _START["B"] + eb, _START["M"] + em, _START["E"] + ee, _START["S"] + es
    # back-pointers: for each character after the first, the previous state of each state
    back: list[tuple[int, int, int, int]] = []
    for ch in obs[1:]:
        eb, em, ee, es = emit(ch, _NO_EMISSION)
        # max over (probability, previous state letter): ties go to the later letter (B<E<M<S)
        p1, p2 = e + _EB + eb, s + _SB + eb
        nb, fb = (p1, _E) if p1 > p2 else (p2, _S)
        p1, p2 = m + _MM + em, b + _BM + em
        nm, fm = (p2, _B) if p2 > p1 else (p1, _M)
        p1, p2 = b + _BE + ee, m + _ME + ee
        ne, fe = (p1, _B) if p1 > p2 else (p2, _M)
        p1, p2 = s + _SS + es, e + _ES + es
        ns, fs = (p2, _E) if p2 > p1 else (p1, _S)
        b, m, e, s = nb, nm, ne, ns
        back.append((fb, fm, fe, fs))
    state = _E if e > s else _S
    states = [state]
    for previous in reversed(back):
        state = previous[state]
        states.append(state)
    states.reverse()
    words: list[str] = []
    begin = nexti = 0
    for i, pos in enumerate(states):
        if pos == _B:
            begin = i
        elif pos == _E:
            words.append(obs[begin : i + 1])
            nexti = i + 1
        elif pos == _S:
            words.append(obs[i])
            nexti = i + 1
    if nexti < len(obs):
        words.append(obs[nexti:])
    return words


def _plain_starts(blk: str, ends: list[int], base: int, starts: set[int]) -> None:
    """Word starts of jieba's ``__cut_DAG_NO_HMM`` (runs of single ASCII letters/digits are one word)."""
    x = 0
    n = len(blk)
    in_eng = False
    while x < n:
        y = ends[x] + 1
        if y - x == 1 and _RE_ENG.match(blk[x]):
            if not in_eng:
                starts.add(base + x)
                in_eng = True
        else:
            in_eng = False
            starts.add(base + x)
        x = y
