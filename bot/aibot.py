"""AI-bot (智能机器人) callbacks: decrypted JSON → one normalised ``Event``
[doc 100719, 101027, 101031].

The JSON is read with ``parse_json`` (nesting bounded first, NaN and infinite numbers refused),
every string is checked to be storable, and the fields we read are validated with the typed
models below (unknown extra fields are allowed): a wrong shape is a ``PayloadError`` naming the
field, never any other exception. The sender is a non-empty string, and every value that
becomes a key or a column is bounded (``bot/payloads.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr, ValidationError

from bot.payloads import (MAX_CHAT_ID, MAX_EVENT_KEY, MAX_MSG_ID, MAX_TASK_ID, MAX_TYPE,
                          MAX_USERID, PayloadError, StrictModel, as_list, check_strings,
                          max_bytes, not_blank, parse_json, validation_reason)
from models.keys import aibot_conversation, message_dedupe, payload_dedupe
from models.messages import Event


class _From(StrictModel):
    userid: Annotated[StrictStr, Field(max_length=MAX_USERID), AfterValidator(not_blank)]


class _Text(StrictModel):
    content: StrictStr = ""


class _Image(StrictModel):
    url: StrictStr = ""


class _MixedItem(StrictModel):
    msgtype: StrictStr
    text: _Text | None = None
    image: _Image | None = None


class _Mixed(StrictModel):
    #: one item may come as the item itself (as_list), like every repeated element
    msg_item: Annotated[list[_MixedItem], BeforeValidator(as_list)] = []


def _option_ids(v: Any) -> Any:
    """``{"option_id": [...]}`` as documented; a bare list or string is taken too."""
    return as_list(v.get("option_id")) if isinstance(v, dict) else as_list(v)


def _selected(v: Any) -> Any:
    """``{"selected_item": [...]}`` as documented; a bare list is taken too."""
    return as_list(v.get("selected_item")) if isinstance(v, dict) else as_list(v)


class _SelectedItem(StrictModel):
    question_key: StrictStr = ""
    option_ids: Annotated[list[StrictStr], BeforeValidator(_option_ids)] = []


class _TemplateCardEvent(StrictModel):
    card_type: Annotated[StrictStr, Field(max_length=MAX_TYPE)] = ""
    event_key: Annotated[StrictStr, max_bytes(MAX_EVENT_KEY)] = ""
    task_id: Annotated[StrictStr, max_bytes(MAX_TASK_ID)] = ""
    selected_items: Annotated[list[_SelectedItem], BeforeValidator(_selected)] = []


class _AibotEvent(StrictModel):
    eventtype: Annotated[StrictStr, Field(max_length=MAX_TYPE)] = ""
    template_card_event: _TemplateCardEvent | None = None


class AibotCallback(StrictModel):
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


def event_from_aibot_json(plaintext: str) -> Event:
    """AI-bot message or event (JSON) [doc 100719, 101027, 101031]."""
    d = parse_json(plaintext, "AI-bot payload")
    if not isinstance(d, dict) or not isinstance(d.get("msgtype"), str):
        raise PayloadError("AI-bot payload has no msgtype")
    check_strings(d)
    try:
        m = AibotCallback.model_validate(d)
    except ValidationError as exc:
        raise PayloadError(validation_reason(exc, "AI-bot payload")) from None
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
