"""The shared understanding of one message, worked out once, before its transaction opens
(``Dispatcher.prepare``): every router's filters and handlers see the same ``Turn``.

Pure reading of the text — the mention stripped, the configured reply words, bill answers,
staff commands, a ticket number, the nlp analysis (jieba, entities) — so that no handler runs
the analysis inside the database's write transaction. What the conversation's *state* makes of
a short reply is decided later, inside the transaction, by ``handlers/arbitration.py``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from handlers.intake.config import IntakeConfig
from handlers.services import Services
from models.messages import Event
from nlp.analyzer import Analysis, Analyzer
from nlp.billing import TICKET_NO, bill_answer
from nlp.edits import Edit, parse_edit
from nlp.staff_commands import StaffCommand, parse_staff_command
from nlp.workflow_commands import FlowCommand, parse_flow_command
from scheduler.clock import Clock

MAX_TEXT = 2000  # longer messages get a polite "please summarise" and are not analysed


@dataclass
class Turn:
    """One text message as the bot understands it."""

    raw: str  # as written
    text: str  # without the leading @-mention of a group message
    group: bool  # written in a group (the AI bot's group chat)
    addressed: bool  # meant for the bot: 1:1, or @-mentioned / a keyword in a group
    word: str | None  # a whole-message reply word: confirm | edit | cancel (config/intake.yaml)
    bill: str | None  # an explicit answer to a statement: confirm | dispute
    command: StaffCommand | None  # what a technician or dispatcher wrote (app members)
    ticket_no: str | None  # a ticket number named in the text (upper case)
    analysis: Analysis | None  # intent, category, urgency, entities (None: nothing to analyse)
    edit: Edit | None = None  # a change asked for in words: "时间改成今天下午3点"
    # a new time read from the edit's own words: in "今天不方便了，能改到明天上午10点吗" the
    # whole message's first time is 今天, the new one 明天上午10点
    edit_analysis: Analysis | None = None
    flow: FlowCommand | None = None  # a workflow command: 完成 GD…, 同意 GD…, 报价 …, 接受报价
    owner: str | None = None  # the feature a short reply belongs to (arbitration.py)
    awaiting: Any = None  # the ``models.conversation.Awaiting`` entry that decided it


_LEADING_MENTION = re.compile(r"^[@＠][^\s@＠]+(?:\s+|$)")


def strip_mention(text: str, bot_names: tuple[str, ...] = ()) -> str:
    """The message without the @-mentions addressing it (AI-bot group messages start with
    "@BotName "; a person may type the mention again, or mention the bot mid-sentence): every
    leading mention and every mention of one of ``bot_names`` anywhere."""
    text = text.strip()
    while (m := _LEADING_MENTION.match(text)) is not None:
        text = text[m.end():]
    for name in bot_names:
        text = re.sub(rf"[@＠]{re.escape(name)}\s*", "", text)
    return text.strip()


def has_words(text: str) -> bool:
    """Letters or digits of any script (not only emoji, symbols and punctuation)."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def reply_word(text: str, cfg: IntakeConfig) -> str | None:
    """confirm / edit / cancel when the whole message is one of the configured reply words."""
    t = re.sub(r"[\s。.!！,，~～]+", "", text).lower()
    for kind, words in (("cancel", cfg.cancel_words), ("edit", cfg.edit_words),
                        ("confirm", cfg.confirm_words)):
        if t in {w.lower() for w in words}:
            return kind
    return None


async def understand(event: Event, services: Services, clock: Clock) -> Turn | None:
    """The ``Turn`` of a text message; None for anything else (events, timers, media)."""
    if event.kind != "message" or event.type not in ("text", "mixed"):
        return None
    cfg = services[IntakeConfig]
    raw = event.text or ""
    text = strip_mention(raw, cfg.bot_names)
    group = event.channel == "aibot" and event.payload.get("chat_type") == "group"
    addressed = (not group or raw.lstrip().startswith("@")
                 or any(k in text for k in cfg.keywords))
    m = TICKET_NO.search(text)
    analysis = None
    if text and len(text) <= MAX_TEXT and has_words(text):
        analysis = services[Analyzer].analyze(text, clock.now())
    edit = parse_edit(text)
    edit_analysis = (services[Analyzer].analyze(edit.value, clock.now())
                     if analysis is not None and edit is not None and edit.slot == "time"
                     and edit.value != text else None)
    return Turn(raw=raw, text=text, group=group, addressed=addressed,
                word=reply_word(text, cfg), bill=bill_answer(text),
                command=parse_staff_command(text) if event.channel == "app" else None,
                ticket_no=m.group(0).upper() if m else None, analysis=analysis,
                edit=edit, edit_analysis=edit_analysis, flow=parse_flow_command(text))
