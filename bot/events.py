"""Decrypted callback payloads → one normalised ``Event`` shape.

App callbacks are XML [doc 90238–90241], AI-bot callbacks JSON [doc 100719, 101027]. Anything
that is not a shape WeCom sends raises ``PayloadError`` (the callback answers 4xx), never any
other exception:

* nesting is bounded *before* parsing (``check_xml_depth`` / ``check_json_depth``: a cheap,
  linear scan), so no document can exhaust the stack or build a huge tree;
* XML is parsed with defusedxml (a DTD or an entity is refused), and every field we read must
  be one text element: a repeated ``<FromUserName>`` parses as a list and is refused here, not
  by the database;
* AI-bot JSON is validated with typed models (unknown extra fields are allowed); NaN, infinite
  numbers, NUL characters and lone surrogates are refused, as neither database stores them;
* the sender is a non-empty string on every channel, and every value that becomes a key or a
  column (ids, task ids, button keys, response codes) is bounded.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from models.messages import Event
from models.keys import (aibot_conversation, app_conversation, kf_conversation, message_dedupe,
                         payload_dedupe)
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr,
                      ValidationError)


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
MAX_TASK_ID = 128  # bytes: WeCom's task_id limit [PROTOCOL.md §4]
MAX_EVENT_KEY = 1024  # bytes: WeCom's button key limit [PROTOCOL.md §4]
MAX_RESPONSE_CODE = 200  # characters: card_code.code

#: App events WeCom sends without a FromUserName: 微信客服's ``kf_msg_or_event`` (its documented
#: example has none). They are taken from ``SYSTEM_SENDER``, as WeCom names itself on others.
SENDERLESS_EVENTS = frozenset({"kf_msg_or_event"})
SYSTEM_SENDER = "sys"


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


def _element_to_value(el: Element, depth: int = 1) -> Any:
    if depth > MAX_XML_DEPTH:  # check_xml_depth ran first; this only backs it up
        raise PayloadError(f"XML nested deeper than {MAX_XML_DEPTH} levels")
    children = list(el)
    if not children:
        return (el.text or "").strip() if el.text and el.text.strip() else (el.text or "")
    out: dict[str, Any] = {}
    for child in children:
        value = _element_to_value(child, depth + 1)  # a str or a dict, never a list
        prev = out.get(child.tag)
        if prev is None:
            out[child.tag] = value
        elif isinstance(prev, list):
            prev.append(value)  # in place: n repeated elements cost n, not n² (prev + [value])
        else:
            out[child.tag] = [prev, value]
    return out


def parse_xml(text: str | bytes) -> dict[str, Any]:
    """Parse a WeCom XML document into a dict; refuse deep nesting, DTDs, entities and
    malformed XML."""
    check_xml_depth(text)
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException as exc:
        raise PayloadError(f"forbidden XML construct ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise PayloadError(f"malformed XML ({exc})") from None
    except (ValueError, LookupError) as exc:  # text that cannot be encoded, an unknown encoding
        raise PayloadError(f"unreadable XML ({type(exc).__name__})") from None
    if root.tag != "xml":
        raise PayloadError("XML root is not <xml>")
    value = _element_to_value(root)
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """One XML/JSON item parses as a dict, several as a list: always get a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _text(d: dict[str, Any], name: str, default: str | None = "", *, chars: int | None = None,
          nbytes: int | None = None) -> str | None:
    """Field ``name`` of a parsed XML document: one text element, or ``default`` if absent."""
    v = d.get(name)
    if v is None:
        return default
    if not isinstance(v, str):
        raise PayloadError(f"{name} is {'repeated' if isinstance(v, list) else 'not text'}")
    if chars is not None and len(v) > chars:
        raise PayloadError(f"{name} is longer than {chars} characters")
    if nbytes is not None and len(v.encode("utf-8")) > nbytes:
        raise PayloadError(f"{name} is longer than {nbytes} bytes")
    return v


def _xml_selected_items(container: Any) -> list[dict[str, Any]]:
    """``<SelectedItems><SelectedItem><QuestionKey/><OptionIds><OptionId/>…`` [doc 90240]."""
    if container is None or container == "":
        return []
    if not isinstance(container, dict):
        raise PayloadError("SelectedItems is not one element of SelectedItem")
    out = []
    for item in as_list(container.get("SelectedItem")):
        if not isinstance(item, dict):
            raise PayloadError("SelectedItem is not an element of QuestionKey and OptionIds")
        opts = item.get("OptionIds")
        if opts is not None and opts != "" and not isinstance(opts, dict):
            raise PayloadError("OptionIds is not one element of OptionId")
        option_ids = as_list(opts.get("OptionId")) if isinstance(opts, dict) else []
        if not all(isinstance(o, str) for o in option_ids):
            raise PayloadError("OptionId is not text")
        out.append({"question_key": _text(item, "QuestionKey"), "option_ids": option_ids})
    return out


def event_from_app_xml(plaintext: str) -> Event:
    """Self-built app message or event [doc 90239, 90240, 90241]."""
    d = parse_xml(plaintext)
    msgtype = d.get("MsgType")
    if not msgtype or not isinstance(msgtype, str):
        raise PayloadError("no MsgType")
    _text(d, "MsgType", chars=MAX_TYPE)
    sender = _text(d, "FromUserName", chars=MAX_USERID) or ""
    payload: dict[str, Any] = {"raw": d, "agent_id": _text(d, "AgentID", None),
                               "create_time": _text(d, "CreateTime", None)}
    if msgtype == "event":
        name = d.get("Event") or ""
        if not isinstance(name, str) or not name:
            raise PayloadError("event without Event")
        _text(d, "Event", chars=MAX_TYPE)
        if not sender.strip() and name in SENDERLESS_EVENTS:
            sender = SYSTEM_SENDER
        kind, etype = "event", name
        if name == "template_card_event" or name == "template_card_menu_event":
            payload["card"] = {
                "event_key": _text(d, "EventKey", nbytes=MAX_EVENT_KEY),
                "task_id": _text(d, "TaskId", nbytes=MAX_TASK_ID),
                "card_type": _text(d, "CardType", chars=MAX_TYPE),
                "response_code": _text(d, "ResponseCode", chars=MAX_RESPONSE_CODE),
                "selected_items": _xml_selected_items(d.get("SelectedItems")),
            }
        elif name == "LOCATION":
            payload["location"] = {"lat": _text(d, "Latitude", None),
                                   "lon": _text(d, "Longitude", None),
                                   "precision": _text(d, "Precision", None)}
        elif name == "kf_msg_or_event":
            payload["kf"] = {"token": _text(d, "Token"),
                             "open_kfid": _text(d, "OpenKfId", chars=MAX_CHAT_ID)}
        elif name in ("change_external_contact", "change_external_chat"):
            payload["external"] = {
                "change_type": _text(d, "ChangeType"), "user_id": _text(d, "UserID"),
                "external_user_id": _text(d, "ExternalUserID"), "chat_id": _text(d, "ChatId"),
            }
        # Events carry no MsgId, and several can share one CreateTime: key on the payload.
        dedupe = payload_dedupe("app", plaintext)
        if name == "kf_msg_or_event":
            conversation = kf_conversation(payload["kf"]["open_kfid"])
        else:
            conversation = app_conversation(sender)
    else:
        kind, etype = "message", msgtype
        msg_id = _text(d, "MsgId", None, chars=MAX_MSG_ID)
        dedupe = message_dedupe("app", msg_id) if msg_id else payload_dedupe("app", plaintext)
        conversation = app_conversation(sender)
        if msgtype == "text":
            payload["text"] = _text(d, "Content")
        elif msgtype == "image":
            payload["image"] = {"url": _text(d, "PicUrl"), "media_id": _text(d, "MediaId")}
        elif msgtype in ("voice", "video", "file"):
            payload["media"] = {"media_id": _text(d, "MediaId"), "format": _text(d, "Format")}
        elif msgtype == "location":
            payload["location"] = {"lat": _text(d, "Location_X", None),
                                   "lon": _text(d, "Location_Y", None),
                                   "scale": _text(d, "Scale", None), "label": _text(d, "Label")}
        elif msgtype == "link":
            payload["link"] = {"title": _text(d, "Title"), "description": _text(d, "Description"),
                               "url": _text(d, "Url"), "pic_url": _text(d, "PicUrl")}
    if not sender.strip():
        raise PayloadError("no FromUserName")
    return Event("app", kind, etype, sender, conversation, dedupe, payload)


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


def _check_strings(value: Any) -> None:
    """Every key and string is storable: no NUL (PostgreSQL text refuses it), no lone
    surrogate (not UTF-8)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            if "\x00" in v:
                raise PayloadError("JSON string holds a NUL character")
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    raise PayloadError("JSON string holds a lone surrogate") from None


def _max_bytes(n: int) -> AfterValidator:
    def check(v: str) -> str:
        if len(v.encode("utf-8")) > n:
            raise ValueError(f"longer than {n} bytes")
        return v

    return AfterValidator(check)


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("empty")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _From(_Model):
    userid: Annotated[StrictStr, Field(max_length=MAX_USERID), AfterValidator(_not_blank)]


class _Text(_Model):
    content: StrictStr = ""


class _Image(_Model):
    url: StrictStr = ""


class _MixedItem(_Model):
    msgtype: StrictStr
    text: _Text | None = None
    image: _Image | None = None


class _Mixed(_Model):
    #: one item may come as the item itself (as_list), like every repeated element
    msg_item: Annotated[list[_MixedItem], BeforeValidator(as_list)] = []


def _option_ids(v: Any) -> Any:
    """``{"option_id": [...]}`` as documented; a bare list or string is taken too."""
    return as_list(v.get("option_id")) if isinstance(v, dict) else as_list(v)


def _selected(v: Any) -> Any:
    """``{"selected_item": [...]}`` as documented; a bare list is taken too."""
    return as_list(v.get("selected_item")) if isinstance(v, dict) else as_list(v)


class _SelectedItem(_Model):
    question_key: StrictStr = ""
    option_ids: Annotated[list[StrictStr], BeforeValidator(_option_ids)] = []


class _TemplateCardEvent(_Model):
    card_type: Annotated[StrictStr, Field(max_length=MAX_TYPE)] = ""
    event_key: Annotated[StrictStr, _max_bytes(MAX_EVENT_KEY)] = ""
    task_id: Annotated[StrictStr, _max_bytes(MAX_TASK_ID)] = ""
    selected_items: Annotated[list[_SelectedItem], BeforeValidator(_selected)] = []


class _AibotEvent(_Model):
    eventtype: Annotated[StrictStr, Field(max_length=MAX_TYPE)] = ""
    template_card_event: _TemplateCardEvent | None = None


class AibotCallback(_Model):
    """A decrypted AI-bot callback [doc 100719, 101027, 101031]: the fields we read, typed."""

    msgid: Annotated[StrictStr, Field(max_length=MAX_MSG_ID)] | None = None
    aibotid: StrictStr | None = None
    chattype: StrictStr | None = None
    chatid: Annotated[StrictStr, Field(max_length=MAX_CHAT_ID)] | None = None
    sender: _From = Field(alias="from")
    response_url: StrictStr | None = None
    msgtype: Annotated[StrictStr, Field(min_length=1, max_length=MAX_TYPE)]
    text: _Text | None = None
    image: _Image | None = None
    mixed: _Mixed | None = None
    event: _AibotEvent | None = None


def _validation_reason(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)
    where = ".".join(str(p) for p in err[0]["loc"]) or "payload"
    more = f" (and {len(err) - 1} more)" if len(err) > 1 else ""
    return f"AI-bot payload: {where}: {err[0]['msg']}{more}".replace("\n", " ")


def event_from_aibot_json(plaintext: str) -> Event:
    """AI-bot message or event (JSON) [doc 100719, 101027, 101031]."""
    d = parse_json(plaintext, "AI-bot payload")
    if not isinstance(d, dict) or not isinstance(d.get("msgtype"), str):
        raise PayloadError("AI-bot payload has no msgtype")
    _check_strings(d)
    try:
        m = AibotCallback.model_validate(d)
    except ValidationError as exc:
        raise PayloadError(_validation_reason(exc)) from None
    sender = m.sender.userid
    chat_type = m.chattype or "single"
    chat_id = m.chatid or ""
    conversation = aibot_conversation(sender, chat_id if chat_type == "group" else "")
    payload: dict[str, Any] = {"raw": d, "chat_type": chat_type, "chat_id": chat_id,
                               "response_url": d.get("response_url", ""),
                               "aibot_id": d.get("aibotid", "")}
    msgtype = m.msgtype
    if msgtype == "event":
        ev = m.event
        if ev is None or not ev.eventtype:
            raise PayloadError("AI-bot event without eventtype")
        kind, etype = "event", ev.eventtype
        if etype == "template_card_event":
            tc = ev.template_card_event or _TemplateCardEvent()
            payload["card"] = {
                "event_key": tc.event_key, "task_id": tc.task_id, "card_type": tc.card_type,
                "response_code": "",
                "selected_items": [{"question_key": i.question_key,
                                    "option_ids": list(i.option_ids)}
                                   for i in tc.selected_items],
            }
    else:
        kind, etype = "message", msgtype
        if msgtype == "text":
            payload["text"] = m.text.content if m.text else ""
        elif msgtype == "image":
            payload["image"] = {"url": m.image.url if m.image else ""}
        elif msgtype == "mixed":
            items = m.mixed.msg_item if m.mixed else []
            payload["text"] = "\n".join(i.text.content for i in items
                                        if i.msgtype == "text" and i.text is not None)
            payload["images"] = [i.image.url for i in items
                                 if i.msgtype == "image" and i.image is not None]
    dedupe = message_dedupe("aibot", m.msgid) if m.msgid else payload_dedupe("aibot", plaintext)
    return Event("aibot", kind, etype, sender, conversation, dedupe, payload)


def event_from_kf_message(msg: dict[str, Any]) -> Event:
    """A message pulled with ``kf/sync_msg`` (微信客服)."""
    open_kfid = msg.get("open_kfid", "")
    ext = msg.get("external_userid", "")
    msgtype = msg.get("msgtype", "")
    payload: dict[str, Any] = {"raw": msg, "open_kfid": open_kfid, "external_userid": ext}
    kind = "event" if msgtype == "event" else "message"
    etype = (msg.get("event") or {}).get("event_type", "event") if kind == "event" else msgtype
    if msgtype == "text":
        payload["text"] = (msg.get("text") or {}).get("content", "")
    elif msgtype == "location":
        loc = msg.get("location") or {}
        payload["location"] = {"lat": loc.get("latitude"), "lon": loc.get("longitude"),
                               "label": loc.get("name", "") or loc.get("address", "")}
    elif msgtype == "image":
        payload["image"] = {"media_id": (msg.get("image") or {}).get("media_id", "")}
    return Event("kf", kind, etype, ext, kf_conversation(open_kfid, ext),
                 message_dedupe("kf", msg.get("msgid", "")), payload)
