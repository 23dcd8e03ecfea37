"""Chat intake: a problem described in chat becomes a ticket; follow-ups act on it.

* A new problem opens a **draft** for the person in this conversation; the bot asks, one short
  question at a time, for the slots its category needs (``config/intake.yaml``). Messages from
  the same person within the window join the same draft. When nothing is missing the bot asks
  for confirmation — a card (确认/修改/取消) for app members plus a text line, a text question on
  the AI-bot and 微信客服 — and then creates the ticket and answers with its number.
* A report like an open ticket of the same customer or store is added to that ticket instead;
  a repeat of a recently resolved problem is linked to it.
* query / urge / cancel / confirm / rate act on the customer's tickets.
* Images and locations attach to the current draft, or else to the latest open ticket.

Taken up: every 1:1 message; in groups, @-mentions of the bot and messages with a keyword
(``Turn.addressed``). Anything intake does not understand goes on (``SkipHandler``) to the
fallback, ``handlers/basic``. A draft and a completion waiting for the customer's 确认 are
recorded as awaited answers (``models/conversation.py``), which is how a bare 确认 or 取消
finds its owner (``handlers/arbitration.py``).

This module holds the router and its thin entry points; the work lives beside it:
``drafts.py`` (a draft being filled in, confirmed, made a ticket), ``followups.py`` (what a
customer does with their tickets), ``media.py`` (images and locations), ``base.py`` (the
customer, the actor and the channel's way of answering, shared by those), ``helpers.py``
(pure helpers), ``views.py`` (the card) and ``texts.py`` (every sentence).
"""

from __future__ import annotations

from bot.cards import parse_key
from handlers.intake import texts
from handlers.intake.base import COMPLETION, OWNER, sender_customer
from handlers.intake.config import IntakeConfig
from handlers.intake.template_fields import names_a_template
from handlers.intake.drafts import Drafts
from handlers.intake.followups import Followups
from handlers.intake.media import attach_media
from handlers.intake.views import INTAKE_ACTIONS
from handlers.routing import Context, Router, SkipHandler
from handlers.understanding import MAX_TEXT, Turn
from models.conversation import expect
from models.messages import INTERNAL
from models.ticketing import customer_of
from models.tickets import Customer, Draft, Ticket
from nlp.rating import parse_score
from nlp.smalltalk import is_smalltalk

#: below this, a "create" with nothing a report has (a device, a fault, a place, a keyword) is
#: not taken as one: "阿斯顿发qwe zxcv" gets the honest "not understood", not a repair draft
GUESS_FLOOR = 0.5

router = Router("intake")


@router.message(msgtype=("text", "mixed"), when=lambda e, t: t is not None and t.addressed)
async def on_text(ctx: Context, cfg: IntakeConfig) -> None:
    turn: Turn = ctx.turn
    text = turn.text
    if not text and ctx.event.payload.get("images"):
        await on_media(ctx, cfg)
        return
    if not text or len(text) > MAX_TEXT:
        raise SkipHandler  # the fallback's polite "no text" / "please summarise" answers
    if turn.analysis is None:  # only emoji, symbols, punctuation
        ctx.reply(texts.NOT_UNDERSTOOD)
        return
    if is_smalltalk(text):
        raise SkipHandler  # 你好 / 帮助: the fallback greets and helps; an open draft still waits
    customer = await sender_customer(ctx)
    drafts = Drafts(ctx, cfg, customer)
    draft = await drafts.current_draft()
    word, a = turn.word, turn.analysis
    if turn.edit is not None:  # "时间改成今天下午3点": the field changes, on the draft or ticket
        if draft is not None:
            await drafts.change(draft, text, turn.edit, turn.edit_analysis or a)
        else:
            await Followups(ctx, cfg, customer).change(text, turn.edit, turn.edit_analysis or a)
        return
    if draft is not None and draft.status == "confirming" and word is not None:
        if word == "confirm":
            drafts.record(text, draft=draft)
        await drafts.answer(draft, word)
        return
    if draft is not None:
        if word == "cancel" or (a.intent == "cancel" and not turn.ticket_no):
            await drafts.cancel_draft(draft)
        elif word == "confirm" and draft.status == "collecting":  # "确认" is no visit time
            await drafts.advance(draft, lambda question: texts.STILL_NEEDED.format(
                question=question))
        else:
            await drafts.continue_draft(draft, text, a)
        return
    score = parse_score(text)
    intent = a.intent
    if score is not None and intent in ("other", "confirm", "rate"):
        intent = "rate"
    tickets = Followups(ctx, cfg, customer)
    if intent == "query":
        await tickets.query(text)
    elif intent == "urge":
        await tickets.urge(text)
    elif intent == "cancel":
        await tickets.cancel(text)
    elif intent == "confirm":
        await tickets.confirm_done(text)
    elif intent == "rate":
        await tickets.rate(text, score)
    elif (a.entities.device or a.faults or any(k in text for k in cfg.keywords)
          or names_a_template(ctx, text) or (intent == "create" and (
              a.confidence >= GUESS_FLOOR or a.entities.store or a.entities.address))):
        await drafts.new_report(text, a)
    else:
        raise SkipHandler  # nothing intake understands: the fallback answers


@router.event("ticket_resolved", channel=INTERNAL)
async def on_resolved(ctx: Context) -> None:
    """The work is done: the customer's 确认 now closes the ticket (an awaited answer)."""
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    person = customer_of(ticket) if ticket is not None else ""
    if ticket is not None and ticket.status == "resolved" and person:
        await expect(ctx.session, person=person, owner=OWNER, kind=COMPLETION, ref=ticket.id,
                     now=ctx.clock.now())


@router.message(msgtype=("image", "location"))
async def on_media(ctx: Context, cfg: IntakeConfig) -> None:
    if not await attach_media(Drafts(ctx, cfg, await sender_customer(ctx))):
        raise SkipHandler  # nothing to attach it to: the fallback acknowledges it


@router.card(prefix="intake:")
async def on_card(ctx: Context, key: str, cfg: IntakeConfig) -> None:
    parsed = parse_key(key, INTAKE_ACTIONS)
    draft = await ctx.session.get(Draft, parsed[1]) if parsed else None
    if parsed is None or draft is None or draft.sender != ctx.event.sender:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    if draft.status != "confirming":
        ctx.reply(texts.DRAFT_GONE)
        return
    customer = await ctx.session.get(Customer, draft.customer_id)
    action = parsed[0]
    await ctx.update_card(texts.CARD_DONE_LABELS[action])
    await Drafts(ctx, cfg, customer).answer(draft, action)  # type: ignore[arg-type]
