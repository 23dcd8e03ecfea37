"""Build ``real_cs.jsonl`` from raw public source files plus the hand labels in ``labels.tsv``.

Nothing is downloaded.  The raw files must already be on disk, laid out as
``<RAW>/<owner>+<name>/<path inside the repository>`` (see README.md, "Re-building",
for the exact files, commits and the ``git show`` commands that produce them).

    python nlp/corpus/build.py --raw /tmp/real_cs_raw            # writes nlp/corpus/real_cs.jsonl
    python nlp/corpus/build.py --raw /tmp/real_cs_raw --check    # only verify the committed files

It also writes ``extra_train.jsonl`` from ``extra_labels.tsv``: more real turns of the same sources,
labelled with the intent only, that are **always train** (they never enter the frozen test split)
and are dropped when they repeat or nearly repeat (character-bigram Jaccard >= 0.5) a test item.

Only items that have a row in ``labels.tsv`` are emitted; every other candidate turn of the
sources was looked at and left out on purpose (bare product ids, fragments, near duplicates,
agent text at a customer position, personal names).

The test/train split is a pure function of the text (SHA-256 with a fixed salt), so adding or
relabelling items never moves an existing item between the splits.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLIT_SALT = "real_cs-v173:"        # frozen; changing it would reshuffle the test split
TEST_PERCENT = 40

INTENTS = ("create", "query", "urge", "cancel", "confirm", "rate", "other")
CATEGORIES = ("repair", "install", "return", "complaint", "delivery", "invoice", "consult", "other")
URGENCIES = ("urgent", "high", "normal", "low")

SOURCES = {
    "ecd": {
        "repo": "cooelf/DeepUtteranceAggregation",
        "commit": "f2e15d6600ccda0db32eee98b2ca67c322071964",
        "licence": "none stated (repository has no LICENSE file; README states no terms for the "
                   "E-commerce Dialogue Corpus)",
    },
    "seretod": {
        "repo": "SereTOD/SereTOD2022",
        "commit": "a38b9de519229a75615f14010c19425dccf3c53f",
        "path": "data/example.json",
        "licence": "none stated (no LICENSE file; the full MobileCS data is released only under a "
                   "signed challenge data-usage agreement; these 10 example dialogues are public "
                   "in the repository)",
    },
    "sophon": {
        "repo": "SophonPlus/ChineseNlpCorpus",
        "commit": "a0b781d72158bde242c0626c9e354d2b328865ff",
        "licence": "none stated (repository has no LICENSE file and the README states no terms)",
    },
    "afqmc": {
        "repo": "zejunwang1/CSTS",
        "commit": "2e7eeedf505c78bf39d34f836773081cfc98af0c",
        "licence": "none stated (repository has no LICENSE file; it re-hosts AFQMC, originally "
                   "published by Ant Financial via Tianchi / the CLUE benchmark)",
    },
}

MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_mobiles(text: str) -> str:
    """Real 11-digit mobile numbers left in public reviews are masked (middle four digits)."""
    return MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def desegment(s: str) -> str:
    """ECD is distributed word-segmented (tokens joined by spaces); undo that.  A space is kept
    only between two ASCII letters/digits (``iphone 6``)."""
    out = ""
    for tok in s.split(" "):
        if not tok:
            continue
        if out and re.match(r"[A-Za-z0-9]$", out[-1]) and re.match(r"^[A-Za-z0-9]", tok):
            out += " "
        out += tok
    return out


def norm_key(text: str) -> str:
    """Normalisation used only for de-duplication."""
    t = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s\W_]+", "", t)


def split_of(text: str) -> str:
    h = int(hashlib.sha256((SPLIT_SALT + text).encode("utf-8")).hexdigest()[:8], 16)
    return "test" if h % 100 < TEST_PERCENT else "train"


def item_id(text: str) -> str:
    return "rcs-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


# --------------------------------------------------------------------------- candidates

def ecd_candidates(raw: Path) -> dict[str, dict]:
    """Customer turns of the ECD sample.  Each line is ``label \\t u1 \\t ... \\t un \\t response``;
    the response is the agent, so the last context utterance is the customer and roles alternate
    backwards from there."""
    src = SOURCES["ecd"]
    out: dict[str, dict] = {}
    for fn in ("test", "train"):      # ECD_sample/valid is byte-identical to ECD_sample/train
        path = f"ECD_sample/{fn}"
        lines = (raw / "cooelf+DeepUtteranceAggregation" / path).read_text(encoding="utf-8").splitlines()
        for ln, line in enumerate(lines, 1):
            parts = line.split("\t")
            ctx = parts[1:-1]
            for k in range(len(ctx) - 1, -1, -2):
                text = desegment(ctx[k])
                out.setdefault(f"ecd:{fn}:{ln}:{k}", {
                    "text": text,
                    "context": desegment(ctx[k - 1]) if k >= 1 else None,
                    "source": {"repo": src["repo"], "path": path,
                               "locator": f"line {ln}, context utterance {k} (0-based, customer turn)",
                               "licence": src["licence"], "commit": src["commit"]},
                })
    return out


def seretod_candidates(raw: Path) -> dict[str, dict]:
    src = SOURCES["seretod"]
    data = json.loads((raw / "SereTOD+SereTOD2022" / src["path"]).read_text(encoding="utf-8"))
    out: dict[str, dict] = {}
    for dia in data:
        for i, turn in enumerate(dia["content"]):
            user = turn.get("[SPEAKER 2]")
            if not user:
                continue
            out[f"seretod:{dia['id']}:{i}"] = {
                "text": user,
                "context": turn.get("[SPEAKER 1]"),
                "source": {"repo": src["repo"], "path": src["path"],
                           "locator": f"dialogue id {dia['id']}, turn {i} (0-based), [SPEAKER 2] = user",
                           "licence": src["licence"], "commit": src["commit"]},
            }
    return out


def sophon_candidates(raw: Path) -> dict[str, dict]:
    src = SOURCES["sophon"]
    base = raw / "SophonPlus+ChineseNlpCorpus"
    out: dict[str, dict] = {}

    path = "datasets/waimai_10k/waimai_10k.csv"
    with open(base / path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for i, (label, review) in enumerate(rows, 1):
        out[f"waimai:{i}"] = {"text": review, "context": None, "source": {
            "repo": src["repo"], "path": path,
            "locator": f"data row {i} (1-based, after the header; sentiment label {label})",
            "licence": src["licence"], "commit": src["commit"]}}

    path = "datasets/online_shopping_10_cats/online_shopping_10_cats.zip"
    with zipfile.ZipFile(base / path) as zf:
        data = zf.read("online_shopping_10_cats.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(data, newline="")))[1:]
    for i, (cat, label, review) in enumerate(rows, 1):
        out[f"os10:{i}"] = {"text": review.lstrip("\ufeff"), "context": None, "source": {
            "repo": src["repo"], "path": path + "!online_shopping_10_cats.csv",
            "locator": f"data row {i} (1-based, after the header; cat {cat}, sentiment label {label})",
            "licence": src["licence"], "commit": src["commit"]}}

    # Baidu-Zhidao telecom questions: only the sample rows printed in the datasets' intro notebooks
    # are in the repository (the full files are external links).  The printed DataFrame is parsed.
    for ds in ("anhuidianxinzhidao", "liantongzhidao"):
        path = f"datasets/{ds}/intro.ipynb"
        nb = json.loads((base / path).read_text(encoding="utf-8"))
        for ci, cell in enumerate(nb["cells"]):
            for output in cell.get("outputs", []):
                txt = output.get("text") or output.get("data", {}).get("text/plain") or ""
                txt = "".join(txt)
                for line in txt.splitlines():
                    m = re.match(r"^(\d+)\s{2,}(\S.*?)(?:\s{2,}|\s*$)", line)
                    if m:
                        out.setdefault(f"zhidao:{ds}:{m.group(1)}", {
                            "text": m.group(2).strip(), "context": None, "source": {
                                "repo": src["repo"], "path": path,
                                "locator": f"cell {ci} output, printed DataFrame row index {m.group(1)}, column 'title'",
                                "licence": src["licence"], "commit": src["commit"]}})
    return out


def afqmc_candidates(raw: Path) -> dict[str, dict]:
    src = SOURCES["afqmc"]
    out: dict[str, dict] = {}
    for fn in ("train", "dev", "test"):
        path = f"AFQMC/{fn}.txt"
        lines = (raw / "zejunwang1+CSTS" / path).read_text(encoding="utf-8").splitlines()
        for ln, line in enumerate(lines, 1):
            parts = line.split("\t")
            for col in (0, 1):
                if col < len(parts):
                    out[f"afqmc:{fn}:{ln}:{col}"] = {"text": parts[col].strip(), "context": None, "source": {
                        "repo": src["repo"], "path": path,
                        "locator": f"line {ln}, sentence column {col + 1}",
                        "licence": src["licence"], "commit": src["commit"]}}
    return out


# --------------------------------------------------------------------------- build

def load_labels(path: Path) -> list[tuple[str, str, str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, intent, cat, urg = line.split("\t")[:4]
        if intent not in INTENTS or cat not in CATEGORIES or urg not in URGENCIES:
            raise SystemExit(f"{path}:{n}: bad label {line!r}")
        rows.append((key, intent, cat, urg))
    return rows


def build(raw: Path) -> list[dict]:
    cands: dict[str, dict] = {}
    for fn in (ecd_candidates, seretod_candidates, sophon_candidates, afqmc_candidates):
        cands.update(fn(raw))
    items, seen = [], {}
    for key, intent, cat, urg in load_labels(HERE / "labels.tsv"):
        if key not in cands:
            raise SystemExit(f"labels.tsv: {key} not found in the raw sources")
        c = cands[key]
        text = mask_mobiles(c["text"])
        nk = norm_key(text)
        if nk in seen:                       # duplicate across sources: first label wins
            continue
        seen[nk] = key
        item = {"id": item_id(text), "text": text, "intent": intent, "category": cat,
                "urgency": urg, "split": split_of(text), "source": c["source"]}
        if c.get("context"):
            item["context"] = c["context"]
        items.append(item)
    return items


NEAR_DUPLICATE = 0.5   # character-bigram Jaccard with a test item at or above which an extra is dropped


def _bigrams(text: str) -> frozenset[str]:
    t = norm_key(text)
    return frozenset(t[i:i + 2] for i in range(len(t) - 1)) or frozenset({t})


def build_extra(raw: Path, items: list[dict]) -> tuple[list[dict], list[str]]:
    """Train-only items from ``extra_labels.tsv`` (key, intent); returns (items, dropped keys)."""
    cands: dict[str, dict] = {}
    for fn in (ecd_candidates, seretod_candidates, sophon_candidates, afqmc_candidates):
        cands.update(fn(raw))
    seen = {norm_key(i["text"]) for i in items}
    test = [_bigrams(i["text"]) for i in items if i["split"] == "test"]
    out, dropped = [], []
    path = HERE / "extra_labels.tsv"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, intent = line.split("\t")[:2]
        if intent not in INTENTS:
            raise SystemExit(f"{path}:{n}: bad intent {intent!r}")
        if key not in cands:
            raise SystemExit(f"{path}:{n}: {key} not found in the raw sources")
        c = cands[key]
        text = mask_mobiles(c["text"])
        nk = norm_key(text)
        if nk in seen:
            dropped.append(key)
            continue
        b = _bigrams(text)
        if any(len(b & t) / len(b | t) >= NEAR_DUPLICATE for t in test):
            dropped.append(key)
            continue
        seen.add(nk)
        out.append({"id": item_id(text), "text": text, "intent": intent, "split": "train",
                    "key": key, "source": c["source"]})
    return out, dropped


def summary(items: list[dict]) -> str:
    lines = []
    by = Counter((i["intent"], i["split"]) for i in items)
    lines.append(f"{'intent':8} {'test':>5} {'train':>6} {'total':>6}  test%")
    for it in INTENTS:
        t, r = by[(it, "test")], by[(it, "train")]
        lines.append(f"{it:8} {t:5} {r:6} {t + r:6}  {100 * t / max(1, t + r):4.0f}")
    t = sum(1 for i in items if i["split"] == "test")
    lines.append(f"{'all':8} {t:5} {len(items) - t:6} {len(items):6}  {100 * t / len(items):4.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, required=True, help="directory with <owner>+<name>/<path> raw files")
    ap.add_argument("--out", type=Path, default=HERE / "real_cs.jsonl")
    ap.add_argument("--extra-out", type=Path, default=HERE / "extra_train.jsonl")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args(argv)
    items = build(args.raw)
    extra, dropped = build_extra(args.raw, items)
    body = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    extra_body = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in extra)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == body
        same_extra = args.extra_out.exists() and args.extra_out.read_text(encoding="utf-8") == extra_body
        print("identical" if same and same_extra else
              f"DIFFERENT ({args.out.name}: {'same' if same else 'differs'}, "
              f"{args.extra_out.name}: {'same' if same_extra else 'differs'})")
        return 0 if same and same_extra else 1
    args.out.write_text(body, encoding="utf-8")
    args.extra_out.write_text(extra_body, encoding="utf-8")
    print(summary(items))
    counts = Counter(i["intent"] for i in extra)
    print(f"extra_train.jsonl: {len(extra)} train-only items "
          f"({', '.join(f'{k} {counts[k]}' for k in INTENTS if counts[k])}); "
          f"{len(dropped)} dropped as repeats or near-repeats of corpus items: {' '.join(dropped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
