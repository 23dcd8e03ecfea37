"""The text-understanding entry point: ``Analyzer.load()`` once, then ``analyze()``.

Importing this module loads nothing; all dictionaries, the gazetteer and a
private ``jieba.Tokenizer`` (the global jieba instance is never touched) are
built by :meth:`Analyzer.load`. :meth:`Analyzer.analyze` is pure: no I/O, no
database, no per-message loading.
"""

from __future__ import annotations

import logging
from itertools import accumulate
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import jieba

from nlp.amounts import extract_amounts
from nlp.catalog import Catalog
from nlp.classify import classify_evidence, evidence
from nlp.intent_model import MODEL_PATH, IntentModel, decide
from nlp.lexicon import Entry, Lexicon, TermIndex
from nlp.phones import extract_order_ids, extract_phones
from nlp.regions import Gazetteer, extract_address
from nlp.segment import segment
from nlp.text import Span, normalize
from nlp.timeexpr import extract_time

DEFAULT_CONFIG_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "config" / "nlp"
#: Messages longer than this are analysed on their first MAX_CHARS characters only.
#: Every stage is linear in the text (issue 9), at about 10–20 µs of CPU per character
#: on the dev machine, so this bounds one analysis to a few tens of milliseconds on the
#: event loop. The same figure as intake's MAX_TEXT, which refuses longer messages.
MAX_CHARS: Final[int] = 2000


@dataclass(frozen=True, slots=True)
class Entities:
    phones: tuple[str, ...] = ()
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    device: str | None = None
    store: str | None = None
    order_ids: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    appointment: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "phones": list(self.phones),
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "address": self.address,
            "device": self.device,
            "store": self.store,
            "order_ids": list(self.order_ids),
            "amounts": list(self.amounts),
            "appointment": self.appointment.isoformat() if self.appointment else None,
        }


@dataclass(frozen=True, slots=True)
class Analysis:
    """Result of :meth:`Analyzer.analyze`. ``to_dict()`` is the public JSON contract;
    the remaining fields (spans over the message, tokens, brand, faults) are extras."""

    text: str
    intent: str
    confidence: float
    category: str
    urgency: str
    entities: Entities
    #: the model's two most probable intents with their calibrated probabilities, best first;
    #: when ``confidence < nlp.intent_model.ASK_THRESHOLD`` the bot asks which one is meant
    alternatives: tuple[tuple[str, float], ...] = ()
    #: who decided the intent: "model", or "rule:cancel" / "rule:score" / "rule:ticket" / "rule:empty"
    intent_source: str = "model"
    spans: tuple[Span, ...] = ()
    tokens: tuple[str, ...] = ()
    brand: str | None = None
    faults: tuple[str, ...] = ()
    appointment_precision: str | None = None  # "date" | "part_of_day" | "minute"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "category": self.category,
            "urgency": self.urgency,
            "entities": self.entities.to_dict(),
        }


@dataclass(frozen=True)
class Analyzer:
    lexicon: Lexicon
    tokenizer: jieba.Tokenizer
    gazetteer: Gazetteer
    devices: Catalog
    stores: Catalog
    brands: TermIndex
    faults: TermIndex
    intent_model: IntentModel | None
    config_dir: Path | None = field(default=None)

    @classmethod
    def load(cls, config_dir: Path | None = None, model_path: Path | None = MODEL_PATH) -> Analyzer:
        """Build an analyzer from the shipped dictionaries plus ``config_dir``.

        ``config_dir`` defaults to the repository's ``config/nlp`` when it exists.
        Raises :class:`nlp.lexicon.DictionaryError` naming file:line for bad entries.
        ``model_path`` is the trained intent model (``nlp/data/intent_model.json``); ``None``
        gives the rules-only analyser of before the model (for comparison and for training).
        """
        if config_dir is None and DEFAULT_CONFIG_DIR.is_dir():
            config_dir = DEFAULT_CONFIG_DIR
        lexicon = Lexicon.load(config_dir)
        tokenizer = _build_tokenizer(lexicon)

        def is_common_word(word: str) -> bool:
            return tokenizer.FREQ.get(word, 0) > 0

        return cls(
            lexicon=lexicon,
            tokenizer=tokenizer,
            gazetteer=Gazetteer(),
            devices=Catalog(lexicon.devices, is_common_word),
            stores=Catalog(lexicon.stores, is_common_word),
            brands=_entry_index(lexicon.brands),
            faults=_entry_index(lexicon.faults),
            intent_model=IntentModel.load(model_path) if model_path is not None else None,
            config_dir=config_dir,
        )

    def segment(self, norm: str) -> tuple[list[str], set[int]]:
        """jieba tokens of the normalised text and the word starts of its HMM-free cut."""
        if not norm.strip():
            return [], set()
        return segment(self.tokenizer, norm)

    def analyze(self, text: str, now: datetime) -> Analysis:
        """Analyse one message; ``now`` anchors relative times (converted to Asia/Shanghai)."""
        original = text[:MAX_CHARS]
        norm = normalize(original)
        orders = extract_order_ids(norm)
        phones = extract_phones(norm, orders)
        appointment, time_spans = extract_time(norm, now, orders + phones)
        amounts = extract_amounts(norm, orders + phones + time_spans)
        region = self.gazetteer.resolve(norm)
        # Word starts from both segmentations (one jieba pass, nlp/segment.py): jieba's HMM glues
        # unknown characters onto their neighbours ("100号空凋" → 号空 / 凋), which would hide the
        # typo 空凋 from the catalogue.
        token_list, plain_starts = self.segment(norm)
        tokens = tuple(token_list)
        token_starts = frozenset(accumulate(map(len, tokens), initial=0)) | plain_starts
        device = self.devices.match(norm, token_starts)
        store = self.stores.match(norm, token_starts)
        brand = next(self.brands.scan(norm), None)
        faults: list[Entry] = [value for *_, value in self.faults.scan(norm)]  # type: ignore[misc]
        # what the cues say is found once; the labels are derived for the rules' intent and,
        # when the model chooses another one, for that
        ev = evidence(norm, tokens, [f.urgency or "normal" for f in faults])
        signals = {"has_device": device is not None, "has_time": appointment is not None}
        result = classify_evidence(ev, **signals)  # the rules alone: intent, category, urgency
        decision = None
        if self.intent_model is not None:
            decision = decide(
                self.intent_model.probabilities(norm, tokens, result.intent),
                norm,
                [original[s.start : s.end] for s in orders],
            )
            if decision.intent != result.intent:  # category and urgency for the chosen intent
                result = classify_evidence(ev, **signals, intent=decision.intent)
        spans: list[Span] = [*orders, *phones, *time_spans, *amounts, *region.spans]
        for hit, kind in ((device, "device"), (store, "store")):
            if hit is not None:
                spans.append(Span(hit.start, hit.end, kind, hit.name))
        entities = Entities(
            phones=tuple(dict.fromkeys(s.value for s in phones)),
            province=region.province,
            city=region.city,
            district=region.district,
            address=extract_address(norm, original, region),
            device=device.name if device else None,
            store=store.name if store else None,
            order_ids=tuple(dict.fromkeys(original[s.start : s.end] for s in orders)),
            amounts=tuple(s.value for s in amounts),
            appointment=appointment.value if appointment else None,
        )
        return Analysis(
            text=text,
            intent=decision.intent if decision else result.intent,
            confidence=decision.confidence if decision else result.confidence,
            category=result.category,
            urgency=result.urgency,
            entities=entities,
            alternatives=decision.alternatives if decision else (),
            intent_source=decision.source if decision else "rules",
            spans=tuple(sorted(spans)),
            tokens=tokens,
            brand=str(brand[3].name) if brand else None,  # type: ignore[attr-defined]
            faults=tuple(f.name for f in faults),
            appointment_precision=appointment.precision if appointment else None,
        )


def _entry_index(entries: tuple[Entry, ...]) -> TermIndex:
    terms: dict[str, object] = {}
    for entry in entries:
        for term in entry.terms:
            terms.setdefault(normalize(term), entry)
    return TermIndex(terms)


def _build_tokenizer(lexicon: Lexicon) -> jieba.Tokenizer:
    """A private jieba tokenizer that also knows our devices, brands, faults and stores."""
    tokenizer = jieba.Tokenizer()
    logger = jieba.default_logger
    previous = logger.level
    logger.setLevel(logging.WARNING)  # silence "Building prefix dict…" while we load
    try:
        tokenizer.initialize()
    finally:
        logger.setLevel(previous)
    words = {normalize(t) for t in lexicon.all_terms()}
    for word in sorted(words):
        if all("\u4e00" <= ch <= "\u9fff" for ch in word):
            tokenizer.add_word(word, freq=1000)
    return tokenizer
