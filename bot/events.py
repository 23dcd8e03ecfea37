"""WeCom callbacks and pulled messages → one normalised ``Event`` shape.

* Self-built app callbacks are XML [doc 90238–90241]: parsed with ``parse_xml`` (nesting
  bounded first, DTDs and entities refused), and every field we read must be one text element:
  a repeated ``<FromUserName>`` parses as a list and is refused here, not by the database.
* 微信客服 messages pulled with ``kf/sync_msg`` are JSON the API client decoded: validated with
  a typed model (``KfMessage``) like the AI-bot JSON (``bot/aibot.py``).

Anything that is not a shape WeCom sends raises ``PayloadError`` (``bot/payloads.py``), never
any other exception; the sender is a non-empty string on every channel, and every value that
becomes a key or a column (ids, task ids, button keys, response codes) is bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from bot.payloads import (MAX_CHAT_ID, MAX_EVENT_KEY, MAX_JSON_DEPTH, MAX_MEDIA_ID, MAX_MSG_ID,
                          MAX_OPEN_KFID, MAX_RESPONSE_CODE, MAX_TASK_ID, MAX_TYPE, MAX_USERID,
                          PayloadError, StrictModel, as_list, check_strings, not_blank,
                          parse_xml, validation_reason)
from models.keys import app_conversation, kf_conversation, message_dedupe, payload_dedupe
from models.messages import Event

#: App events WeCom sends without a FromUserName: 微信客服's ``kf_msg_or_event`` (its documented
#: example has none). They are taken from ``SYSTEM_SENDER``, as WeCom names itself on others.
SENDERLESS_EVENTS = frozenset({"kf_msg_or_event"})
SYSTEM_SENDER = "sys"


# -- app XML ----------------------------------------------------------------------------------


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
        elif name == "sys_approval_change":  # WeCom's 审批 app [doc 91815]
            info = d.get("ApprovalInfo")
            if not isinstance(info, dict):
                raise PayloadError("sys_approval_change without ApprovalInfo")
            records = [r for r in as_list(info.get("SpRecord")) if isinstance(r, dict)]
            details = [x for r in records for x in as_list(r.get("Details"))
                       if isinstance(x, dict)]
            speech = next((_text(x, "Speech", chars=500) for x in reversed(details)
                           if x.get("Speech")), "")
            last = details[-1].get("Approver") if details else None
            approver = _text(last, "UserId", chars=MAX_USERID) if isinstance(last, dict) else ""
            payload["approval"] = {
                # SpNoStr is the recommended key; SpNo is not sent for some forms
                "sp_no": _text(info, "SpNoStr", chars=64) or _text(info, "SpNo", chars=64),
                "status": _text(info, "SpStatus", chars=4),
                "change": _text(info, "StatuChangeEvent", chars=4),
                "template_id": _text(info, "TemplateId", chars=128),
                "speech": speech,
                "approver": approver,
            }
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


# -- 微信客服: a message pulled with kf/sync_msg -------------------------------------------------


def _coordinate(bound: int) -> AfterValidator:
    def check(v: float) -> float:
        # NaN compares false; the range first: math.isfinite(10**400) would overflow
        if not (-bound <= v <= bound):
            raise ValueError(f"not a coordinate within ±{bound}")
        return v

    return AfterValidator(check)


#: what becomes a key or a column: a non-blank string, bounded
_KfMsgId = Annotated[StrictStr, Field(max_length=MAX_MSG_ID), AfterValidator(not_blank)]
_OpenKfId = Annotated[StrictStr, Field(max_length=MAX_OPEN_KFID), AfterValidator(not_blank)]
_ExternalUserId = Annotated[StrictStr, Field(max_length=MAX_USERID), AfterValidator(not_blank)]


class _KfText(StrictModel):
    content: StrictStr = ""


class _KfImage(StrictModel):
    media_id: Annotated[StrictStr, Field(max_length=MAX_MEDIA_ID)] = ""


class _KfLocation(StrictModel):
    latitude: Annotated[StrictInt | StrictFloat, _coordinate(90)] | None = None
    longitude: Annotated[StrictInt | StrictFloat, _coordinate(180)] | None = None
    name: StrictStr = ""
    address: StrictStr = ""


class _KfEvent(StrictModel):
    event_type: Annotated[StrictStr, Field(min_length=1, max_length=MAX_TYPE)] = "event"


class KfMessage(StrictModel):
    """One entry of ``kf/sync_msg``'s ``msg_list`` (微信客服): the fields we read, typed."""

    msgid: _KfMsgId
    open_kfid: _OpenKfId
    external_userid: _ExternalUserId
    msgtype: Annotated[StrictStr, Field(min_length=1, max_length=MAX_TYPE)]
    origin: StrictInt | None = None  # 3: the customer, 4: the system, 5: our agent
    text: _KfText | None = None
    image: _KfImage | None = None
    location: _KfLocation | None = None
    event: _KfEvent | None = None


def event_from_kf_message(msg: Any) -> Event:
    """A message pulled with ``kf/sync_msg`` (微信客服); ``PayloadError`` if it is not one."""
    if not isinstance(msg, dict):
        raise PayloadError("kf message is not an object")
    # It is stored as it came (payload["raw"]): every part of it must be storable.
    check_strings(msg, finite=True, max_depth=MAX_JSON_DEPTH)
    try:
        m = KfMessage.model_validate(msg)
    except ValidationError as exc:
        raise PayloadError(validation_reason(exc, "kf message")) from None
    open_kfid, ext, msgtype = m.open_kfid, m.external_userid, m.msgtype
    payload: dict[str, Any] = {"raw": msg, "open_kfid": open_kfid, "external_userid": ext}
    kind = "event" if msgtype == "event" else "message"
    etype = (m.event.event_type if m.event else "event") if kind == "event" else msgtype
    if msgtype == "text":
        payload["text"] = m.text.content if m.text else ""
    elif msgtype == "location":
        loc = m.location or _KfLocation()
        payload["location"] = {"lat": loc.latitude, "lon": loc.longitude,
                               "label": loc.name or loc.address}
    elif msgtype == "image":
        payload["image"] = {"media_id": m.image.media_id if m.image else ""}
    return Event("kf", kind, etype, ext, kf_conversation(open_kfid, ext),
                 message_dedupe("kf", m.msgid), payload)
