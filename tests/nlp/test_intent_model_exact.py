"""``IntentModel.probabilities`` computes, bit for bit, the numpy formula the model was exported
for (issue 15): float32 sublinear tf × idf, l2 norm, float32 linear scores plus float64
intercepts, softmax. The fast version does most of it with Python floats and float32 rounding
(``array("f")``); here the plain numpy version is the reference, on every hand-written
message, the real corpus, and long messages whose counts pass the tf table.

One step is not numpy's own: the softmax's ``exp``. numpy dispatches float64 ``exp`` to its
own AVX-512 kernel where the CPU has it (this machine kind did on 2026-11-30: AMD EPYC,
``AVX512_ICL``) and to the C library's elsewhere, and the two differ in the last bit (the
model's ``urge`` for "不需要了，谢谢": 0.02393276631003984 against ...832). The reference takes
the C library's ``exp``, as the model does, so the comparison stays bit for bit on every
machine; numpy's own result is checked to within 1e-15 relative (3 ulps at most were seen),
and to rank the intents the same."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.analyzer import MAX_CHARS, Analyzer
from nlp.classify import INTENTS
from nlp.intent_model import _DIGITS, MODEL_PATH, NGRAMS
from nlp.text import normalize

ROOT = Path(__file__).resolve().parents[2]


class _Reference:
    """The numpy computation of the model's probabilities, as it was before issue 15."""

    def __init__(self, data: dict) -> None:
        self.intents = tuple(data["intents"])
        self.char, self.word, self.rule = data["char"], data["word"], data["rule"]
        self.idf = np.asarray(data["idf"], dtype=np.float32)
        self.coef = np.asarray(data["coef"], dtype=np.float32)
        self.intercept = np.asarray(data["intercept"], dtype=np.float64)

    def probabilities(self, norm: str, tokens: Sequence[str], rule_intent: str, *,
                      libm_exp: bool = True) -> dict[str, float]:
        text = norm.translate(_DIGITS)
        found = [self.char.get(text[i : i + k]) for k in NGRAMS for i in range(len(text) - k + 1)]
        found += [self.word.get(tok.translate(_DIGITS)) for tok in tokens]
        found.append(self.rule.get(rule_intent))
        counts = Counter(found)
        counts.pop(None, None)
        scores = self.intercept
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            weights = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            weights = (np.log(weights) + 1.0) * self.idf[idx]
            scores = scores + (weights @ self.coef[idx]) / math.sqrt(float(weights @ weights))
        shifted = scores - scores.max()
        exp = np.array([math.exp(x) for x in shifted.tolist()]) if libm_exp else np.exp(shifted)
        return dict(zip(self.intents, (exp / exp.sum()).tolist()))


def _texts() -> list[str]:
    texts: list[str] = []
    for path in (ROOT / "tests" / "data" / "nlp_eval_tune.jsonl", ROOT / "tests" / "data" / "nlp_eval_holdout.jsonl",
                 ROOT / "nlp" / "corpus" / "real_cs.jsonl"):
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    long = "空调不制冷了，麻烦明天下午3点派师傅来修，电话13812345678。" * 60
    return [*texts, "", "5", "哈" * MAX_CHARS, long[:MAX_CHARS]]


def test_probabilities_equal_the_numpy_formula_bit_for_bit(analyzer: Analyzer) -> None:
    model = analyzer.intent_model
    assert model is not None
    reference = _Reference(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
    for i, text in enumerate(_texts()):
        norm = normalize(text[:MAX_CHARS])
        tokens = analyzer.segment(norm)[0]
        rule_intent = INTENTS[i % len(INTENTS)]
        got = model.probabilities(norm, tokens, rule_intent)
        want = reference.probabilities(norm, tokens, rule_intent)
        assert list(got.items()) == list(want.items()), text[:40]
        numpy_own = reference.probabilities(norm, tokens, rule_intent, libm_exp=False)
        assert all(math.isclose(got[k], v, rel_tol=1e-15, abs_tol=0)
                   for k, v in numpy_own.items()), text[:40]
        assert sorted(got, key=got.__getitem__) == sorted(numpy_own, key=numpy_own.__getitem__)
