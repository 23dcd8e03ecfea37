"""The trained intent classifier and how it is combined with the precise rules.

The model is a multinomial logistic regression over TF-IDF weighted features of one message:
character 1–2-grams of the normalised text and its jieba tokens (digits folded to ``0`` in
both, so order numbers and phones do not become vocabulary), plus one feature naming the
intent the weighted-cue rules of ``nlp.classify`` would pick (the model learns how far to
trust them: a lot on our own domain's phrasing, less on messy real text). It is trained by
``python -m nlp.train_intent`` (scikit-learn, fixed seeds, see docs/nlp.md) and written to
``nlp/data/intent_model.json``; at run time **no scikit-learn is imported**: the TF-IDF
transform and the linear scores are recomputed here (numpy for the products, Python floats
rounded as numpy's float32 would be for the rest) from the exported vocabulary,
IDF weights, coefficients and intercepts, which are already divided by the calibration
temperature, so ``softmax(scores)`` is the calibrated probability.

:func:`decide` then applies the few rules that are more precise than the model (an explicit
cancellation, a bare score, a ticket number) and returns the intent, its confidence and the
model's two most probable intents, which the bot uses to ask instead of guessing when the
confidence is below :data:`ASK_THRESHOLD`.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Final

import numpy as np

MODEL_PATH: Final[Path] = Path(__file__).resolve().parent / "data" / "intent_model.json"
FORMAT: Final = "intent-logreg-tfidf/1"

#: Below this calibrated probability of the chosen intent the bot should not act on the
#: intent alone but ask which of ``Analysis.alternatives`` is meant ("您是想报修，还是查询工单进度？").
#: Chosen on the training data's cross-validated probabilities (docs/nlp.md, "Asking instead
#: of guessing"): out of fold, 74 % of messages are at or above it and 86 % of those are right;
#: below it the model is right only 42 % of the time, so asking beats guessing.
ASK_THRESHOLD: Final[float] = 0.6
#: The confidence reported when a precise rule (not the model) decided the intent.
RULE_CONFIDENCE: Final[float] = 1.0
#: Character n-gram lengths used as features.
NGRAMS: Final[tuple[int, ...]] = (1, 2)

_DIGITS: Final = str.maketrans("123456789", "000000000")
_FOLDED_DIGIT: Final = re.compile("[1-9]")
#: counts below this take their tf weight from a table (IntentModel._tf)
_TF_TABLE: Final = 512

#: Ticket numbers the bot issues (handlers/intake: ``GD20261125-0007``).
TICKET_NO: Final = re.compile(r"(?<![a-z0-9])gd\d{8}-?\d{4}(?!\d)")
_NOT_WITH_TICKET: Final = frozenset({"other", "create"})
#: An explicit cancellation: 取消/撤销/撤回 …
_CANCEL: Final = re.compile(r"取消|撤销|撤回|退订")
#: … unless negated or already done (不取消, 别撤回, 已经取消了) …
_CANCEL_NOT: Final = re.compile(
    r"(?:不|别|没|未|已|已经|无法|不能|不了|被)(?:要|用|想|再|能)?(?:取消|撤销|撤回|退订)|(?:取消|撤销|撤回|退订)不"
)
#: … or asked about rather than asked for (怎么取消, 能不能取消, 取消了吗, 为何取消).
_ASKING: Final = re.compile(
    r"怎么|怎样|咋|如何|能不能|能否|可不可以|可以吗|可否|是否|会不会|为什么|为何|什么|哪|多久"
    r"|是吧|[吗嘛么呢]\s*[?？。!！~～]*\s*$|[?？]"
)
#: The whole message is a score: "5", "5分", "五星", "4颗星", "⭐⭐⭐⭐"
_BARE_SCORE: Final = re.compile(r"\s*(?:[1-5一二两三四五]\s*(?:分|星|颗星)?|[⭐★]{1,5})\s*[.。!！~～]*\s*")


@dataclass(frozen=True, slots=True)
class IntentDecision:
    intent: str
    confidence: float
    #: the model's two most probable intents with their probabilities, best first
    alternatives: tuple[tuple[str, float], ...]
    #: "model" or "rule:<name>" (cancel, score, ticket, empty)
    source: str


class IntentModel:
    """Exported logistic regression; :meth:`probabilities` is pure and allocation-light."""

    __slots__ = ("intents", "_char", "_word", "_rule", "_idf", "_coef", "_intercept", "_tf", "n_features")

    def __init__(self, data: dict) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"intent model: unknown format {data.get('format')!r}, expected {FORMAT!r}")
        if tuple(data.get("ngrams", NGRAMS)) != NGRAMS:
            raise ValueError(f"intent model: n-grams {data['ngrams']}, this code computes {list(NGRAMS)}")
        self.intents: tuple[str, ...] = tuple(data["intents"])
        self._char: dict[str, int] = data["char"]
        self._word: dict[str, int] = data["word"]
        self._rule: dict[str, int] = data["rule"]
        # float32: half the memory a message's look-ups touch (the file has 6 significant digits)
        self._coef = np.asarray(data["coef"], dtype=np.float32)      # (n_features, n_intents)
        # the float32 idf weights, and the float64 intercepts, as Python floats (exactly)
        self._idf: list[float] = np.asarray(data["idf"], dtype=np.float32).tolist()
        self._intercept: list[float] = np.asarray(data["intercept"], dtype=np.float64).tolist()
        self.n_features = len(self._idf)
        # the float32 sublinear term frequency 1 + log(count) of every count a message of up
        # to _TF_TABLE - 1 features can have, computed once with the same float32 ufuncs
        with np.errstate(divide="ignore"):
            self._tf: list[float] = (np.log(np.arange(_TF_TABLE, dtype=np.float32)) + 1.0).tolist()
        if self._coef.shape != (self.n_features, len(self.intents)):
            raise ValueError(f"intent model: coef shape {self._coef.shape} does not match the vocabulary")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> IntentModel:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def probabilities(self, norm: str, tokens: Sequence[str], rule_intent: str) -> dict[str, float]:
        """Calibrated P(intent | message) for every intent (sums to 1); ``rule_intent`` is what
        ``nlp.classify.classify`` (rules only) says.

        Bit for bit the numpy computation the model was exported for (float32 tf × idf, l2 norm
        and linear scores, float64 intercepts and softmax; ``tests/nlp/test_intent_model_exact.py``),
        but only the two products run in numpy: every numpy call costs microseconds of dispatch,
        more than the rest in Python floats rounded to float32 where numpy would (issue 15)."""
        # digits folded to 0 (translate costs ~0.15 µs a character: only when there is one to fold)
        folding = _FOLDED_DIGIT.search(norm) is not None
        text = norm.translate(_DIGITS) if folding else norm
        get = self._char.get
        found = list(map(get, text))  # the n-grams of NGRAMS == (1, 2), checked on loading
        found += map(get, map(str.__add__, text, text[1:]))
        found += map(self._word.get, map(str.translate, tokens, repeat(_DIGITS)) if folding else tokens)
        found.append(self._rule.get(rule_intent))
        counts = Counter(found)
        counts.pop(None, None)  # features outside the vocabulary
        scores = self._intercept
        if counts:
            n = len(counts)
            # sublinear tf × idf: the float32 product of two float32 numbers is their exact
            # product (in a double) rounded to float32, which array("f") does
            idf = self._idf
            if len(found) < _TF_TABLE:  # no count reaches the end of the table
                tf = self._tf
                products = [tf[c] * idf[f] for f, c in counts.items()]
            else:
                tfs = (np.log(np.fromiter(counts.values(), dtype=np.float32, count=n)) + 1.0).tolist()
                products = [t * idf[f] for t, f in zip(tfs, counts)]
            weights = np.frombuffer(array("f", products), dtype=np.float32)
            rows = self._coef.take(np.fromiter(counts, dtype=np.intp, count=n), axis=0)
            l2 = _float32([math.sqrt(float(weights @ weights))])[0]
            # float32 quotients: a double quotient of float32 numbers rounds to the float32 one
            linear = _float32([v / l2 for v in (weights @ rows).tolist()])
            scores = [b + v for b, v in zip(scores, linear)]
        top = max(scores)
        exp = [math.exp(v - top) for v in scores]
        total = 0.0
        for v in exp:  # left to right, as numpy sums fewer than 8 numbers
            total += v
        return {intent: v / total for intent, v in zip(self.intents, exp)}


def _float32(values: list[float]) -> list[float]:
    """``values`` rounded to float32 (to nearest, as numpy's float32 arithmetic does)."""
    return array("f", values).tolist()


def features(norm: str, tokens: Sequence[str], rule_intent: str) -> list[str]:
    """The feature strings of one message, as the trainer sees them: ``c:`` + character
    n-gram, ``w:`` + token (both with digits folded to 0), ``r:`` + the rules' intent.
    :meth:`IntentModel.probabilities` computes the same thing straight into vocabulary indexes."""
    text = norm.translate(_DIGITS)
    out = [f"c:{text[i : i + k]}" for k in NGRAMS for i in range(len(text) - k + 1)]
    out += [f"w:{tok.translate(_DIGITS)}" for tok in tokens]
    out.append(f"r:{rule_intent}")
    return out


#: what the bot itself tells people to write (回复“进度”可随时查询 …): a message that is only one
#: of these words means what the bot said it means, whatever the model thinks
COMMANDS: Final[dict[str, str]] = {
    **dict.fromkeys(("进度", "查进度", "查询进度", "查进展", "查询", "查单", "查工单", "工单进度",
                     "进度呢", "到哪了", "状态"), "query"),
    **dict.fromkeys(("催", "催单", "催一下", "催催", "加急", "快点", "快一点"), "urge"),
}
_COMMAND_STRIP: Final = re.compile(r"[\s。.!！,，~～?？]+")
#: more characters than the longest command once stripped: matched from the start, it settles
#: most messages without building the stripped copy
_LONGER_THAN_COMMANDS: Final = re.compile(
    r"(?:[\s。.!！,，~～?？]*+[^\s。.!！,，~～?？]){%d}" % (max(map(len, COMMANDS)) + 1)
)


def decide(
    probs: dict[str, float],
    norm: str,
    order_ids: Sequence[str] = (),
) -> IntentDecision:
    """Combine the model's probabilities with the precise rules (docs/nlp.md, "Model and rules").

    1. an empty message is ``other``; a message that is only one of the bot's own command words
       (:data:`COMMANDS`: 进度, 催单 …) means what the bot said it means;
    2. a message that is only a score (``5``, ``5分``, ``四星``, ``⭐⭐⭐``) is ``rate``;
    3. an explicit cancellation (取消/撤销/撤回/退订) that is neither negated, already done, nor
       asked about (怎么取消, 能取消吗, 为何取消) is ``cancel``;
    4. a message naming one of our ticket numbers (GD…) is about that ticket: never ``other``
       and never a new ticket (``create``); the most probable of the remaining intents is taken,
       its probability renormalised over them (a message that is only the number is ``query``);
    otherwise the model's most probable intent, with its probability as the confidence.
    """
    ranked = sorted(probs.items(), key=itemgetter(1), reverse=True)  # stable: ties keep their order
    alternatives = tuple([(k, round(v, 4)) for k, v in ranked[:2]])
    if not norm.strip():
        return IntentDecision("other", RULE_CONFIDENCE, alternatives, "rule:empty")
    if not _LONGER_THAN_COMMANDS.match(norm) and (command := COMMANDS.get(_COMMAND_STRIP.sub("", norm))) is not None:
        return IntentDecision(command, RULE_CONFIDENCE, alternatives, "rule:command")
    if _BARE_SCORE.fullmatch(norm):
        return IntentDecision("rate", RULE_CONFIDENCE, alternatives, "rule:score")
    if _CANCEL.search(norm) and not _CANCEL_NOT.search(norm) and not _ASKING.search(norm):
        return IntentDecision("cancel", RULE_CONFIDENCE, alternatives, "rule:cancel")
    if ranked[0][0] in _NOT_WITH_TICKET and any(TICKET_NO.search(o.lower()) for o in order_ids):
        rest = TICKET_NO.sub("", norm).strip(" \t,.，。:：?？!！")
        if not rest:
            return IntentDecision("query", RULE_CONFIDENCE, alternatives, "rule:ticket")
        left = [(k, v) for k, v in ranked if k not in _NOT_WITH_TICKET]
        total = sum(v for _, v in left)
        intent, p = left[0]
        return IntentDecision(intent, round(p / total, 4) if total > 0 else 0.0, alternatives, "rule:ticket")
    intent, p = ranked[0]
    return IntentDecision(intent, round(p, 4), alternatives, "model")
