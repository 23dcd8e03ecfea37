"""Train the intent model and write ``nlp/data/intent_model.json`` (bit for bit reproducible).

    .venv/bin/python -m nlp.train_intent            # train, print cross-validation, write the model
    .venv/bin/python -m nlp.train_intent --check    # train and compare with the committed file

Training data (all committed, nothing is downloaded):

* ``nlp/corpus/real_cs.jsonl`` — the **train** split only (the test split is never read here);
* ``nlp/corpus/extra_train.jsonl`` — more real turns of the same public sources, train-only;
* ``tests/data/nlp_eval_tune.jsonl`` — the hand-written tune set (never its holdout), with the
  old convention's pre-sales questions (``query``/``consult``) mapped to ``other`` as the
  real corpus labels them, less the two messages that equal a real test message (好的, 嗯).

Features: :func:`nlp.intent_model.features` (character 1–2-grams + jieba tokens of the
analyser's own tokenizer + the intent the rules alone would give), TF-IDF with sublinear tf, minimum document frequency
:data:`MIN_DF`. Model: scikit-learn ``LogisticRegression`` (lbfgs, multinomial,
``class_weight="balanced"``, C = :data:`C`), fitted on one BLAS thread so that the floating
point sums are always done in the same order. Calibration: one temperature for all intents,
fitted on 5-fold out-of-fold scores of the real training items (grid 0.30–5.00 by 0.01,
minimum negative log-likelihood), folded into the exported coefficients. Coefficients are
written with 6 significant digits.

scikit-learn is needed only here (it is in the ``test`` extra); the bot never imports it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from nlp.analyzer import MAX_CHARS, Analyzer
from nlp.classify import INTENTS
from nlp.evaluate import EVAL_NOW
from nlp.intent_model import FORMAT, MODEL_PATH, NGRAMS, features
from nlp.text import normalize

ROOT: Final = Path(__file__).resolve().parent.parent
REAL: Final = ROOT / "nlp" / "corpus" / "real_cs.jsonl"
EXTRA: Final = ROOT / "nlp" / "corpus" / "extra_train.jsonl"
TUNE: Final = ROOT / "tests" / "data" / "nlp_eval_tune.jsonl"

C: Final = 10.0
MIN_DF: Final = 2
SEED: Final = 20261129
FOLDS: Final = 5
TEMPERATURES: Final = tuple(round(0.30 + 0.01 * i, 2) for i in range(471))


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def training_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(real training items, additional items) — never an item of the frozen test split."""
    corpus = _rows(REAL)
    real = [r for r in corpus if r["split"] == "train"]
    extra = [r for r in _rows(EXTRA) if r["split"] == "train"]
    for r in _rows(TUNE):
        intent = "other" if (r["intent"], r["category"]) == ("query", "consult") else r["intent"]
        extra.append({"text": r["text"], "intent": intent})
    # a hand-written message that happens to equal a real test message ("好的", "嗯") is left out
    test = {normalize(r["text"]) for r in corpus if r["split"] == "test"}
    return real, [r for r in extra if normalize(r["text"]) not in test]


def featurize(analyzer: Analyzer, texts: Sequence[str]) -> list[list[str]]:
    """Features of each text; ``analyzer`` must be the rules-only one (``model_path=None``),
    whose intent is the ``r:`` feature."""
    out = []
    for text in texts:
        norm = normalize(text[:MAX_CHARS])
        tokens, _ = analyzer.segment(norm)
        rule_intent = analyzer.analyze(text, EVAL_NOW).intent
        out.append(features(norm, tokens, rule_intent))
    return out


def _fit(docs: list[list[str]], labels: list[str]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
    matrix = vectorizer.fit_transform(docs)
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=10000, tol=1e-8)
    model.fit(matrix, labels)
    return vectorizer, model


def _identity(doc: list[str]) -> list[str]:
    return doc


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cross_validate(real_docs: list[list[str]], real_y: list[str], extra_docs: list[list[str]],
                   extra_y: list[str]) -> np.ndarray:
    """Out-of-fold decision scores (columns in INTENTS order) of the real training items;
    the additional items are in every training fold."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros((len(real_docs), len(INTENTS)))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for train_ix, test_ix in folds.split(real_docs, real_y):
        vec, model = _fit([real_docs[i] for i in train_ix] + extra_docs, [real_y[i] for i in train_ix] + extra_y)
        dec = model.decision_function(vec.transform([real_docs[i] for i in test_ix]))
        order = [list(model.classes_).index(k) for k in INTENTS]
        scores[test_ix] = dec[:, order]
    return scores


def fit_temperature(scores: np.ndarray, y: list[str]) -> float:
    target = np.array([INTENTS.index(k) for k in y])
    best_t, best_nll = 1.0, math.inf
    for t in TEMPERATURES:
        p = _softmax(scores / t)
        nll = -float(np.log(p[np.arange(len(target)), target] + 1e-12).mean())
        if nll < best_nll - 1e-12:
            best_t, best_nll = t, nll
    return best_t


def _g6(x: float) -> float:
    return float(f"{x:.6g}")


def export(vectorizer: Any, model: Any, temperature: float) -> str:
    vocab: dict[str, int] = vectorizer.vocabulary_
    names = sorted(vocab, key=vocab.__getitem__)
    order = [list(model.classes_).index(k) for k in INTENTS]
    coef = model.coef_[order].T / temperature
    intercept = model.intercept_[order] / temperature
    data = {
        "format": FORMAT,
        "intents": list(INTENTS),
        "ngrams": list(NGRAMS),
        "temperature": temperature,
        "char": {n[2:]: i for i, n in enumerate(names) if n.startswith("c:")},
        "word": {n[2:]: i for i, n in enumerate(names) if n.startswith("w:")},
        "rule": {n[2:]: i for i, n in enumerate(names) if n.startswith("r:")},
        "idf": [_g6(v) for v in vectorizer.idf_],
        "coef": [[_g6(v) for v in row] for row in coef],
        "intercept": [_g6(v) for v in intercept],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def train(analyzer: Analyzer | None = None, report: bool = True) -> str:
    """Train on the committed data and return the model file's text."""
    from sklearn.metrics import classification_report, f1_score
    from threadpoolctl import threadpool_limits

    analyzer = analyzer or Analyzer.load(model_path=None)
    real, extra = training_rows()
    real_docs = featurize(analyzer, [r["text"] for r in real])
    extra_docs = featurize(analyzer, [r["text"] for r in extra])
    real_y = [r["intent"] for r in real]
    extra_y = [r["intent"] for r in extra]
    with threadpool_limits(limits=1):
        oof = cross_validate(real_docs, real_y, extra_docs, extra_y)
        temperature = fit_temperature(oof, real_y)
        vectorizer, model = _fit(real_docs + extra_docs, real_y + extra_y)
    if report:
        pred = [INTENTS[i] for i in oof.argmax(axis=1)]
        probs = _softmax(oof / temperature)
        print(f"training items: {len(real)} real (train split) + {len(extra)} additional; "
              f"features: {len(vectorizer.vocabulary_)}; temperature {temperature}")
        print(f"{FOLDS}-fold cross-validation on the real training items: "
              f"macro-F1 {f1_score(real_y, pred, average='macro'):.3f}")
        print(classification_report(real_y, pred, labels=list(INTENTS), digits=3, zero_division=0))
        print(calibration_table(probs, real_y))
    return export(vectorizer, model, temperature)


def calibration_table(probs: np.ndarray, y: list[str]) -> str:
    """Accuracy and share of messages kept per confidence threshold (out-of-fold)."""
    conf = probs.max(axis=1)
    right = np.array([INTENTS[i] == k for i, k in zip(probs.argmax(axis=1), y)])
    lines = ["threshold  kept  accuracy(kept)  accuracy(asked)"]
    for t in (0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        keep = conf >= t
        acc_k = right[keep].mean() if keep.any() else float("nan")
        acc_a = right[~keep].mean() if (~keep).any() else float("nan")
        lines.append(f"{t:9.2f}  {keep.mean():4.0%}  {acc_k:14.3f}  {acc_a:15.3f}")
    bins = np.linspace(0, 1, 11)
    ece = 0.0
    for lo, hi in zip(bins[:-1], bins[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(right[m].mean() - conf[m].mean())
    lines.append(f"expected calibration error (10 bins): {ece:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlp.train_intent", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed model instead of writing it")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    text = train()
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("identical" if same else f"DIFFERENT from {args.out}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode('utf-8')) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
