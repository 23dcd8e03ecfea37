"""What every WeCom payload goes through before it becomes an ``Event`` (``bot/events.py``,
``bot/aibot.py``): one error type, the bounds, and parsing that cannot be made to misbehave.

Anything that is not a shape WeCom sends raises ``PayloadError`` (the callback answers 4xx),
never any other exception:

* nesting is bounded *before* parsing (``check_xml_depth`` / ``check_json_depth``: a cheap,
  linear scan), so no document can exhaust the stack or build a huge tree;
* XML is parsed by expat in one pass, refusing what defusedxml refuses (a DTD, an entity);
  a plainly flat document (every message and envelope WeCom sends) is read by a regex
  instead, to the same dict (``_parse_flat``);
* JSON refuses NaN and infinite numbers, and ``check_strings`` refuses NUL characters and lone
  surrogates, as neither database stores them;
* every value that becomes a key or a column (ids, task ids, button keys, response codes) is
  bounded by one of the limits below; the typed models share ``StrictModel`` and its helpers.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from xml.parsers import expat

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


class PayloadError(ValueError):
    """The payload is not something WeCom sends; ``str()`` is one line, safe to log."""


# -- bounds -----------------------------------------------------------------------------------

MAX_XML_DEPTH = 32  # WeCom's deepest XML (SelectedItems › SelectedItem › OptionIds › OptionId) is 5
MAX_JSON_DEPTH = 32  # the deepest AI-bot JSON (a card click's option ids) is 6
MAX_XML_ELEMENTS = 10_000  # WeCom's callbacks hold dozens; a 1 MiB body could hold 260,000
MAX_USERID = 128  # characters: inbox.sender and card_code.userid (WeCom userids are ≤ 64 bytes)
MAX_TYPE = 64  # characters: inbox.type (a msgtype or an event name)
MAX_MSG_ID = 128  # characters: the dedupe key ("app:msg:" + MsgId) is at most 200
MAX_CHAT_ID = 200  # characters: the conversation key ("aibot:g:" + chatid) is at most 255
MAX_OPEN_KFID = 120  # characters: "kf:" + open_kfid + ":" + external_userid is at most 255
MAX_TASK_ID = 128  # bytes: WeCom's task_id limit [PROTOCOL.md §4]
MAX_EVENT_KEY = 1024  # bytes: WeCom's button key limit [PROTOCOL.md §4]
MAX_RESPONSE_CODE = 200  # characters: card_code.code
MAX_MEDIA_ID = 200  # characters: attachment.media_id


# -- nesting, bounded before parsing ----------------------------------------------------------


def _reduce_nesting(s: str, limit: int, what: str) -> None:
    """``s`` holds only ``(`` and ``)``; each pass removes the innermost pairs (one level)."""
    for _ in range(limit):
        if "(" not in s:
            return
        shorter = s.replace("()", "")
        if shorter == s:
            break  # unbalanced: the parser would refuse it anyway
        s = shorter
    if "(" in s:
        raise PayloadError(f"{what} nested deeper than {limit} levels (or unbalanced)")


_JSON_ESCAPE = re.compile(r"\\.", re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKETS = str.maketrans("[{]}", "(())")


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` arrays/objects, before ``json.loads`` (whose C
    scanner would recurse into it). Linear: C-level passes only, no backtracking regex."""
    if text.count("[") + text.count("{") <= limit:
        return
    s = _JSON_ESCAPE.sub("", text)  # escaped quotes and backslashes
    s = "".join(s.split('"')[0::2])  # what lies outside strings
    _reduce_nesting(_NOT_BRACKET.sub("", s).translate(_BRACKETS), limit, "JSON")


_XML_SECTION = re.compile(r"<!\[CDATA\[|<!--|<\?")
_XML_SECTION_END = {"<![CDATA[": "]]>", "<!--": "-->", "<?": "?>"}
_XML_CLOSE = re.compile(r"</[^<>]*>")
_XML_EMPTY = re.compile(r"<[^<>!?/][^<>]*/>")
_XML_OPEN = re.compile(r"<[^<>!?/][^<>]*>")
_NOT_TAG = re.compile(r"[^()]+")


def check_xml_depth(text: str | bytes, limit: int = MAX_XML_DEPTH) -> None:
    """Refuse XML nested deeper than ``limit`` elements (or with more than
    ``MAX_XML_ELEMENTS``), before it is parsed. CDATA sections, comments and processing
    instructions are skipped; tags are counted with C-level passes. (An attribute value holding
    ``>`` could be miscounted; WeCom's XML has no attributes, and ``_element_to_value`` bounds
    the depth again on the parsed tree.)"""
    if isinstance(text, (bytes, bytearray)):
        if text.count(b"<") - text.count(b"</") <= limit:  # at most that many opening tags
            return
        s = text.decode("latin-1")  # byte for byte: every ASCII delimiter stays where it is
    else:
        s = text
        if s.count("<") - s.count("</") <= limit:
            return
    parts, pos = [], 0
    while (m := _XML_SECTION.search(s, pos)) is not None:
        parts.append(s[pos:m.start()])
        end = s.find(_XML_SECTION_END[m.group()], m.end())
        if end < 0:
            raise PayloadError("malformed XML (unterminated CDATA, comment or instruction)")
        pos = end + len(_XML_SECTION_END[m.group()])
    parts.append(s[pos:])
    s = "".join(parts).replace("(", "").replace(")", "")
    s = _XML_CLOSE.sub(")", s)
    s, empty = _XML_EMPTY.subn("()", s)
    s, opened = _XML_OPEN.subn("(", s)
    if empty + opened > MAX_XML_ELEMENTS:  # the tree alone would cost the event loop seconds
        raise PayloadError(f"XML has more than {MAX_XML_ELEMENTS} elements")
    _reduce_nesting(_NOT_TAG.sub("", s), limit, "XML")


# -- XML ------------------------------------------------------------------------------------


class _Tree:
    """One pass of expat straight into the dict (no ElementTree in between, issue 15: the two
    defusedxml parses were 18 % of ingest). Refused as defusedxml refuses them: a DTD, an entity
    declaration, an external reference. A leaf is its text (stripped unless it is all blank),
    an element with children a dict, a repeated child a list."""

    __slots__ = ("stack", "root")

    def __init__(self) -> None:
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: tuple[str, Any] | None = None

    def start(self, tag: str, _attrs: Any) -> None:
        if len(self.stack) >= MAX_XML_DEPTH:  # check_xml_depth ran first; this only backs it up
            raise PayloadError(f"XML nested deeper than {MAX_XML_DEPTH} levels")
        self.stack.append(("{" + tag if "}" in tag else tag, {}, []))

    def data(self, text: str) -> None:
        self.stack[-1][2].append(text)

    def end(self, _tag: str) -> None:
        tag, children, parts = self.stack.pop()
        value: Any = children if children else _leaf("".join(parts))
        if not self.stack:
            self.root = (tag, value)
            return
        _put(self.stack[-1][1], tag, value)


def _leaf(text: str) -> str:
    """A leaf's value: its text, stripped unless it is all blank."""
    return text.strip() if text.strip() else text


def _put(out: dict[str, Any], tag: str, value: Any) -> None:
    """One child into its parent's dict: a repeated tag becomes a list."""
    prev = out.get(tag)
    if prev is None:
        out[tag] = value
    elif isinstance(prev, list):
        prev.append(value)  # in place: n repeated elements cost n, not n² (prev + [value])
    else:
        out[tag] = [prev, value]


def _forbid(what: str) -> Any:
    def refuse(*_: Any) -> None:
        raise PayloadError(f"forbidden XML construct ({what})")
    return refuse


# What XML 1.0 refuses as a character (and expat with it), a ``]`` (so that no ``]]>`` can
# hide in a leaf) and a ``\r`` (which expat would turn into ``\n``).
_FLAT_REFUSED = "\\]\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_FLAT_LEAF = re.compile(
    "[ \t\r\n]*<([A-Za-z_][A-Za-z0-9_.-]*)>"
    f"(?:<!\\[CDATA\\[([^{_FLAT_REFUSED}]*)\\]\\]>|([^<&{_FLAT_REFUSED}]*))</\\1>")
_FLAT_END = re.compile("[ \t\r\n]*</xml>[ \t\r\n]*\\Z")


def _parse_flat(text: str | bytes) -> dict[str, Any] | None:
    """The dict of a flat document (``<xml>`` holding only text or CDATA leaves: every
    callback envelope and message WeCom sends, and its events but a card click with
    selections and an approval), or None for anything else, which ``parse_xml`` hands to
    expat. Only what expat would read to the same dict is taken: ASCII tag names without
    attributes or namespaces, leaf text without ``<``, ``&``, ``]``, ``\\r`` or a character
    XML refuses, no declaration or DTD. One regex match a leaf, linear (each branch stops at
    one delimiter): a third of expat's time on a message (issue 15: the two parses were the
    largest part of an ack's own work).
    ``tests/bot/test_payloads.py`` checks it against expat on generated documents."""
    if isinstance(text, (bytes, bytearray)):
        if not text.startswith(b"<xml>"):
            return None
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    elif not text.startswith("<xml>"):
        return None
    out: dict[str, Any] = {}
    pos, leaves = 5, 0
    while (m := _FLAT_LEAF.match(text, pos)) is not None:
        leaves += 1
        if leaves > MAX_XML_ELEMENTS:
            return None  # expat's path refuses it
        tag, cdata, plain = m.groups()
        _put(out, tag, _leaf(cdata if cdata is not None else plain))
        pos = m.end()
    return out if _FLAT_END.match(text, pos) is not None else None


def parse_xml(text: str | bytes) -> dict[str, Any]:
    """Parse a WeCom XML document into a dict; refuse deep nesting, DTDs, entities and
    malformed XML."""
    flat = _parse_flat(text)
    return flat if flat is not None else _parse_expat(text)


def _parse_expat(text: str | bytes) -> dict[str, Any]:
    check_xml_depth(text)
    tree = _Tree()
    parser = expat.ParserCreate(None, "}")  # namespaced tags read as ElementTree's "{uri}tag"
    parser.buffer_text = True
    parser.StartElementHandler = tree.start
    parser.EndElementHandler = tree.end
    parser.CharacterDataHandler = tree.data
    parser.StartDoctypeDeclHandler = _forbid("DTDForbidden")
    parser.EntityDeclHandler = _forbid("EntitiesForbidden")
    parser.UnparsedEntityDeclHandler = _forbid("EntitiesForbidden")
    parser.ExternalEntityRefHandler = _forbid("ExternalReferenceForbidden")
    try:
        parser.Parse(text, True)
    except PayloadError:
        raise
    except expat.ExpatError as exc:
        raise PayloadError(f"malformed XML ({exc})") from None
    except (ValueError, LookupError) as exc:  # text that cannot be encoded, an unknown encoding
        raise PayloadError(f"unreadable XML ({type(exc).__name__})") from None
    if tree.root is None or tree.root[0] != "xml":
        raise PayloadError("XML root is not <xml>")
    value = tree.root[1]
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """One XML/JSON item parses as a dict, several as a list: always get a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# -- JSON -----------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise PayloadError(f"JSON holds {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError("JSON holds a number out of range")
    return value


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with nesting bounded first, and NaN / Infinity / 1e999 refused (neither
    database stores them)."""
    check_json_depth(text)
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:  # incl. JSONDecodeError, a 5,000-digit integer
        raise PayloadError(f"{what} is not JSON ({type(exc).__name__})") from None


def check_strings(value: Any, *, finite: bool = False, max_depth: int | None = None) -> None:
    """Every key and string is storable: no NUL (PostgreSQL text refuses it), no lone
    surrogate (not UTF-8). For JSON that ``parse_json`` did not read (an API answer the client
    decoded): with ``finite``, no NaN or infinite number either, and with ``max_depth``, no
    nesting deeper than that many arrays/objects."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            depth += 1
            if max_depth is not None and depth > max_depth:
                raise PayloadError(f"JSON nested deeper than {max_depth} levels")
            if isinstance(v, dict):
                stack.extend((k, depth) for k in v.keys())
                stack.extend((x, depth) for x in v.values())
            else:
                stack.extend((x, depth) for x in v)
        elif isinstance(v, str):
            if "\x00" in v:
                raise PayloadError("JSON string holds a NUL character")
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    raise PayloadError("JSON string holds a lone surrogate") from None
        elif finite and isinstance(v, float) and not math.isfinite(v):
            raise PayloadError("JSON holds a number out of range (NaN or Infinity)")


# -- typed models: what the JSON shapes share ---------------------------------------------------


def max_bytes(n: int) -> AfterValidator:
    """A string of at most ``n`` bytes in UTF-8 (WeCom counts task ids and keys in bytes)."""

    def check(v: str) -> str:
        if len(v.encode("utf-8")) > n:
            raise ValueError(f"longer than {n} bytes")
        return v

    return AfterValidator(check)


def not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("empty")
    return v


class StrictModel(BaseModel):
    """The fields we read, typed; unknown extra fields are allowed (WeCom adds fields)."""

    model_config = ConfigDict(extra="allow", frozen=True)


def validation_reason(exc: ValidationError, what: str) -> str:
    """The first validation error as one line: ``<what>: <field path>: <message>``."""
    err = exc.errors(include_url=False, include_input=False)
    where = ".".join(str(p) for p in err[0]["loc"]) or "payload"
    more = f" (and {len(err) - 1} more)" if len(err) > 1 else ""
    return f"{what}: {where}: {err[0]['msg']}{more}".replace("\n", " ")
