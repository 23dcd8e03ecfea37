"""Decrypted callback payloads → one normalised ``Event`` shape.

App callbacks are XML [doc 90238–90241], AI-bot callbacks JSON [doc 100719, 101027]. XML is
parsed with defusedxml, so a DTD or an entity is refused before anything is built from it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException



class PayloadError(ValueError):
    """The payload is not something WeCom sends; ``str()`` is safe to log."""


# -- XML ------------------------------------------------------------------------------------


def _element_to_value(el: Element) -> Any:
    children = list(el)
    if not children:
        return (el.text or "").strip() if el.text and el.text.strip() else (el.text or "")
    out: dict[str, Any] = {}
    for child in children:
        value = _element_to_value(child)
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


def parse_xml(text: str | bytes) -> dict[str, Any]:
    """Parse a WeCom XML document into a dict; refuse DTDs, entities and malformed XML."""
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException as exc:
        raise PayloadError(f"forbidden XML construct ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise PayloadError(f"malformed XML ({exc})") from None
    if root.tag != "xml":
        raise PayloadError("XML root is not <xml>")
    value = _element_to_value(root)
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """One XML/JSON item parses as a dict, several as a list: always get a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _selected_items(container: Any, item_key: str, q_key: str, opts_key: str,
                    opt_key: str) -> list[dict[str, Any]]:
    items = as_list(container.get(item_key) if isinstance(container, dict) else container)
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        opts = item.get(opts_key) or {}
        option_ids = as_list(opts.get(opt_key) if isinstance(opts, dict) else opts)
        out.append({"question_key": item.get(q_key, ""), "option_ids": [str(o) for o in option_ids]})
    return out


# -- the normalised event ------------------------------------------------------------------


@dataclass
class Event:
    """What the dispatcher sees, whatever the channel. ``payload`` is JSON-ready."""

    channel: str  # app | aibot | kf | timer
    kind: str  # message | event
    type: str  # msgtype or event name
    sender: str
    conversation_key: str
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # inbox row id once stored

    @property
    def text(self) -> str | None:
        return self.payload.get("text")

    @property
    def card(self) -> dict[str, Any] | None:
        return self.payload.get("card")


def _payload_hash(channel: str, raw: str | bytes) -> str:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return f"{channel}:evt:{hashlib.sha256(data).hexdigest()}"


def event_from_app_xml(plaintext: str) -> Event:
    """Self-built app message or event [doc 90239, 90240, 90241]."""
    d = parse_xml(plaintext)
    msgtype = d.get("MsgType")
    sender = d.get("FromUserName") or ""
    if not msgtype or not isinstance(msgtype, str):
        raise PayloadError("no MsgType")
    payload: dict[str, Any] = {"raw": d, "agent_id": d.get("AgentID"),
                               "create_time": d.get("CreateTime")}
    if msgtype == "event":
        name = d.get("Event") or ""
        if not isinstance(name, str) or not name:
            raise PayloadError("event without Event")
        kind, etype = "event", name
        if name == "template_card_event" or name == "template_card_menu_event":
            payload["card"] = {
                "event_key": d.get("EventKey", ""),
                "task_id": d.get("TaskId", ""),
                "card_type": d.get("CardType", ""),
                "response_code": d.get("ResponseCode", ""),
                "selected_items": _selected_items(d.get("SelectedItems") or {}, "SelectedItem",
                                                  "QuestionKey", "OptionIds", "OptionId"),
            }
        elif name == "LOCATION":
            payload["location"] = {"lat": d.get("Latitude"), "lon": d.get("Longitude"),
                                   "precision": d.get("Precision")}
        elif name == "kf_msg_or_event":
            payload["kf"] = {"token": d.get("Token", ""), "open_kfid": d.get("OpenKfId", "")}
        elif name in ("change_external_contact", "change_external_chat"):
            payload["external"] = {
                "change_type": d.get("ChangeType", ""), "user_id": d.get("UserID", ""),
                "external_user_id": d.get("ExternalUserID", ""), "chat_id": d.get("ChatId", ""),
            }
        # Events carry no MsgId, and several can share one CreateTime: key on the payload.
        dedupe = _payload_hash("app", plaintext)
        if name == "kf_msg_or_event":
            conversation = f"kf:{payload['kf']['open_kfid']}"
        else:
            conversation = f"app:{sender}"
    else:
        kind, etype = "message", msgtype
        msg_id = d.get("MsgId")
        dedupe = f"app:msg:{msg_id}" if msg_id else _payload_hash("app", plaintext)
        conversation = f"app:{sender}"
        if msgtype == "text":
            payload["text"] = d.get("Content", "")
        elif msgtype == "image":
            payload["image"] = {"url": d.get("PicUrl", ""), "media_id": d.get("MediaId", "")}
        elif msgtype in ("voice", "video", "file"):
            payload["media"] = {"media_id": d.get("MediaId", ""), "format": d.get("Format", "")}
        elif msgtype == "location":
            payload["location"] = {"lat": d.get("Location_X"), "lon": d.get("Location_Y"),
                                   "scale": d.get("Scale"), "label": d.get("Label", "")}
        elif msgtype == "link":
            payload["link"] = {"title": d.get("Title", ""), "description": d.get("Description", ""),
                               "url": d.get("Url", ""), "pic_url": d.get("PicUrl", "")}
    return Event("app", kind, etype, sender, conversation, dedupe, payload)


def event_from_aibot_json(plaintext: str) -> Event:
    """AI-bot message or event (JSON) [doc 100719, 101027, 101031]."""
    try:
        d = json.loads(plaintext)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PayloadError("AI-bot payload is not JSON") from None
    if not isinstance(d, dict) or not isinstance(d.get("msgtype"), str):
        raise PayloadError("AI-bot payload has no msgtype")
    frm = d.get("from") if isinstance(d.get("from"), dict) else {}
    sender = str(frm.get("userid", ""))
    chat_type = d.get("chattype") or "single"
    chat_id = d.get("chatid") or ""
    conversation = f"aibot:g:{chat_id}" if chat_type == "group" and chat_id else f"aibot:u:{sender}"
    payload: dict[str, Any] = {"raw": d, "chat_type": chat_type, "chat_id": chat_id,
                               "response_url": d.get("response_url", ""),
                               "aibot_id": d.get("aibotid", "")}
    msgtype = d["msgtype"]
    if msgtype == "event":
        ev = d.get("event") if isinstance(d.get("event"), dict) else {}
        kind, etype = "event", str(ev.get("eventtype", ""))
        if not etype:
            raise PayloadError("AI-bot event without eventtype")
        if etype == "template_card_event":
            tc = ev.get("template_card_event") or {}
            payload["card"] = {
                "event_key": tc.get("event_key", ""), "task_id": tc.get("task_id", ""),
                "card_type": tc.get("card_type", ""), "response_code": "",
                "selected_items": _selected_items(tc.get("selected_items") or {}, "selected_item",
                                                  "question_key", "option_ids", "option_id"),
            }
    else:
        kind, etype = "message", msgtype
        if msgtype == "text":
            payload["text"] = (d.get("text") or {}).get("content", "")
        elif msgtype == "image":
            payload["image"] = {"url": (d.get("image") or {}).get("url", "")}
        elif msgtype == "mixed":
            items = as_list((d.get("mixed") or {}).get("msg_item"))
            texts = [i["text"]["content"] for i in items
                     if isinstance(i, dict) and i.get("msgtype") == "text" and "text" in i]
            payload["text"] = "\n".join(texts)
            payload["images"] = [i["image"]["url"] for i in items
                                 if isinstance(i, dict) and i.get("msgtype") == "image"
                                 and "image" in i]
    msgid = d.get("msgid")
    dedupe = f"aibot:msg:{msgid}" if msgid else _payload_hash("aibot", plaintext)
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
    return Event("kf", kind, etype, ext, f"kf:{open_kfid}:{ext}",
                 f"kf:msg:{msg.get('msgid', '')}", payload)
