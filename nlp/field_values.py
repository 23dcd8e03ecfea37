"""Reading a person's answer to one template field (config/fields.yaml) asked in chat.

``read_value(kind, text, options=…, optional=…)`` gives a ``FieldValue``: ``ok`` and the value
to store as text (``"无"`` for an optional field the person skipped), or ``ok=False`` — the
caller asks again with the field's example. Pure; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from rapidfuzz import fuzz, process

from nlp.amounts import extract_amounts
from nlp.numerals import parse_number
from nlp.phones import extract_phones

SKIP: Final = re.compile(r"^\s*(无|没有|没|不清楚|不知道|跳过|暂无|不用|略|无需|-)\s*[。.!！]?\s*$")
_FAULT_CODE: Final = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,3}\s?-?\d{1,4}[A-Za-z]?)(?![A-Za-z0-9])")
_LINK: Final = re.compile(r"https?://\S+")
_NUMBER: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?|[零一二两三四五六七八九十百千万]+")
SKIPPED: Final = "无"
# A store named in an answer to "哪家门店": 3号店, 二号门店, 南京东路店, 徐家汇分店 — not 店里 / 店长.
_STORE_DIGIT: Final = r"\d一二两三四五六七八九十百"
_NUMBERED_STORE: Final = rf"[{_STORE_DIGIT}]{{1,4}}号门?店"
_STORE: Final = re.compile(rf"({_NUMBERED_STORE}|[\u4e00-\u9fffA-Za-z0-9]{{2,10}}?(?:分店|门店|旗舰店|店))"
                           r"(?![长员里内面铺主家])")
_NUMBERED: Final = re.compile(rf"(?<![{_STORE_DIGIT}])({_NUMBERED_STORE})(?![长员里内面铺主家])")
_STORE_LEAD: Final = re.compile(r"^(?:就是|我们是|我们|这里是|这边是|是在|是|在)")
# a store of no particular name: 实体店, 其他店, 这家店, 网店, 维修店 …
_NOT_A_STORE: Final = re.compile(r"(?:实体|其他|其它|每家|这家|那家|哪家|维修|本|我|这|那|网|商|饭)店$")


@dataclass(frozen=True)
class FieldValue:
    ok: bool
    value: str = ""


def read_value(kind: str, text: str, *, options: tuple[str, ...] = (), optional: bool = False,
               has_image: bool = False) -> FieldValue:
    """The answer ``text`` (the message, mentions removed) as a value of a field of ``kind``."""
    t = (text or "").strip()
    if optional and SKIP.match(t):
        return FieldValue(True, SKIPPED)
    if kind == "photo":
        return FieldValue(True, "已上传") if has_image else FieldValue(False)
    if not t or len(t) > 200:
        return FieldValue(False)
    if kind == "choice":
        return _choice(t, options)
    if kind == "money":
        spans = extract_amounts(t, [])
        if spans:
            return FieldValue(True, f"{Decimal(spans[0].value):.2f}")
        m = _NUMBER.search(t)
        n = parse_number(m.group(0)) if m else None
        return FieldValue(True, f"{n:.2f}") if n is not None and n > 0 else FieldValue(False)
    if kind == "number":
        m = _NUMBER.search(t)
        n = parse_number(m.group(0)) if m else None
        return FieldValue(True, format(n.normalize(), "f")) if n is not None else FieldValue(False)
    if kind == "phone":
        spans = extract_phones(t, [])
        return FieldValue(True, spans[0].value) if spans else FieldValue(False)
    if kind == "fault_code":
        m = _FAULT_CODE.search(t)
        return FieldValue(True, m.group(1).replace(" ", "").upper()) if m else FieldValue(False)
    if kind == "video_link":
        m = _LINK.search(t)
        return FieldValue(True, m.group(0)) if m else FieldValue(False)
    return FieldValue(True, t)  # text, address, device, store, order, datetime: as written


def _choice(text: str, options: tuple[str, ...]) -> FieldValue:
    for o in options:  # the option named in a sentence ("是配送延迟的问题")
        if o in text:
            return FieldValue(True, o)
    got = process.extractOne(text, options, scorer=fuzz.partial_ratio)
    if got is not None and got[1] >= 80:
        return FieldValue(True, got[0])
    return FieldValue(False)


def store_name(text: str, *, numbered: bool = False) -> str | None:
    """The store a person names when asked which store (``就是3号店啊`` → ``3号店``), or None.
    For a store the configured catalogue does not know (nlp/catalog.py finds those it knows).
    ``numbered``: only a numbered store (3号店), which free text names without ambiguity (in a
    whole report, "去实体店" or "联系了店家" are no store)."""
    if numbered:
        m = _NUMBERED.search(text)
        return m.group(1) if m else None
    m = _STORE.search(text)
    name = _STORE_LEAD.sub("", m.group(1)) if m else ""
    return name if len(name) >= 2 and not _NOT_A_STORE.search(name) else None
