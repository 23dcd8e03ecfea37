"""How a customer's history reads: a summary line for the technician's cards, the repeat
problem's earlier fix and solution template, the full history for `客户 GD…`, a masked phone."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from handlers.customers import texts
from handlers.customers.history import History
from models.types import LOCAL_TZ

MAX_ROWS = 10
MAX_FIX = 60
_PHONE = re.compile(r"^(\d{3})\d{4}(\d{4})$")


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678 (anything else: all but the last 4 characters hidden)."""
    if not phone:
        return texts.NO_PHONE
    m = _PHONE.match(phone)
    if m:
        return f"{m.group(1)}****{m.group(2)}"
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def summary(h: History) -> str:
    """The line on the technician's cards: 3次报修·12条消息·评分4.5·7天内重复."""
    if not h.tickets:  # (the messages of this very report are no history)
        return texts.SUMMARY_NEW
    out = texts.SUMMARY.format(tickets=len(h.tickets), messages=h.messages)
    if h.rating is not None:
        out += texts.SUMMARY_RATING.format(rating=f"{h.rating:g}")
    if h.repeat is not None:
        out += texts.SUMMARY_REPEAT.format(days=max(h.repeat.days, 1))
    return out


def _fix(fix: str) -> str:
    fix = " ".join((fix or "").split())
    return fix if len(fix) <= MAX_FIX else fix[:MAX_FIX - 1] + "…"


def repeat_lines(h: History) -> list[str]:
    """The earlier ticket's fix and parts, and the company's solution template, if any."""
    r = h.repeat
    if r is None:
        return []
    e = r.earlier
    lines = [texts.REPEAT_LINE.format(
        ago=texts.REPEAT_AGO.get(r.days) or texts.REPEAT_DAYS_AGO.format(days=r.days),
        number=e.number, title=e.title,
        status=texts.STATUS.get(e.status, e.status), fix=_fix(e.fix) or texts.REPEAT_NO_FIX,
        parts=texts.REPEAT_PARTS.format(parts="、".join(e.parts)) if e.parts else "")]
    if r.solution is not None:
        lines.append(texts.SOLUTION_LINE.format(
            title=r.solution.title,
            steps="；".join(f"{i}. {s}" for i, s in enumerate(r.solution.steps, 1))))
    return lines


def site_line(work: dict[str, Any]) -> str:
    """现场：12楼；外机在阳台外侧 (empty when nothing is known)."""
    bits = []
    if work.get("floor"):
        bits.append(texts.FLOOR.format(floor=work["floor"]))
    if work.get("notes"):
        bits.append(str(work["notes"]))
    return "；".join(bits)


def full_text(number: str, h: History, *, full_phone: bool) -> str:
    """Everything, for `客户 GD…` (staff only; the phone masked unless their role needs it)."""
    lines = [texts.HISTORY_HEAD.format(number=number, years=h.since_years),
             texts.HISTORY_WHO.format(
                 phone=(h.phone or texts.NO_PHONE) if full_phone else mask_phone(h.phone),
                 channels="、".join(texts.CHANNELS.get(c, c) for c in h.channels) or "—"),
             texts.HISTORY_TOTALS.format(
                 tickets=len(h.tickets), messages=h.messages, statements=h.statements,
                 billed=f"{h.billed.quantize(Decimal('0.01')):f}", returns=h.returns,
                 rating=f"{h.rating:g}" if h.rating is not None else texts.NO_RATING)]
    lines += repeat_lines(h)
    if not h.tickets:
        lines.append(texts.HISTORY_NONE)
    for t in h.tickets[:MAX_ROWS]:
        extra = (texts.HISTORY_ROW_FIX.format(fix=_fix(t.fix)) if t.fix else "") + (
            texts.HISTORY_ROW_RATING.format(rating=t.satisfaction) if t.satisfaction else "")
        lines.append(texts.HISTORY_ROW.format(
            date=f"{t.created_at.astimezone(LOCAL_TZ):%Y-%m-%d}", number=t.number, title=t.title,
            status=texts.STATUS.get(t.status, t.status), extra=extra))
    if len(h.tickets) > MAX_ROWS:
        lines.append(texts.HISTORY_MORE.format(n=len(h.tickets) - MAX_ROWS))
    return "\n".join(lines)
