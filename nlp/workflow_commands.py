"""What people write to move a ticket's workflow (handlers/workflow/). Pure text reading.

=====================  ===============================  ======================================
written                kind                             by
=====================  ===============================  ======================================
完成 GD… [备注]         ``done``                          a node's owner (办结 / 处理完 too)
转交 GD… 王经理          ``transfer``                      a node's owner or an approver
加质检 GD…              ``insert`` (word ``质检``)          supervisor, manager, dispatcher
加急审批 GD…            ``insert`` (word ``急审批``)
同意 GD… [意见]         ``approve``                       an approver
驳回 GD… 原因           ``reject``                        an approver
记录 GD…               ``trail``                         staff
报价 [GD…] 更换压缩机1台3800元 工时2小时   ``quote``      technician, dispatcher
接受报价 [GD…]          ``accept_quote``                  the customer
拒绝报价 [GD…] [原因]    ``decline_quote``                 the customer
=====================  ===============================  ======================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from nlp.staff_commands import TICKET_NO

_LEADS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(rf"^(?:{words})(?=$|[\s，,。.!！:：]|GD)", re.IGNORECASE)) for kind, words in (
        ("accept_quote", r"接受报价|同意报价|确认报价|报价没问题|接受"),
        ("decline_quote", r"拒绝报价|不接受报价|报价太贵|不接受"),
        ("quote", r"报价|报个价|报价单"),
        ("approve", r"同意|批准|审批通过|通过"),
        ("reject", r"驳回|不同意|拒绝|不批准"),
        ("trail", r"记录|工单记录|查看记录|历史"),
        ("transfer", r"转交|转给"),
        ("done", r"完成|办结|处理完|已处理|已完成"),
    ))
_INSERT: Final = re.compile(r"^加([\u4e00-\u9fff]{1,6}?)\s*(?=GD)", re.IGNORECASE)
#: customer-side words that need no ticket number (one open quote is meant)
CUSTOMER_KINDS: Final = ("accept_quote", "decline_quote")


@dataclass(frozen=True)
class FlowCommand:
    kind: str
    ticket: str | None = None  # the GD number named, upper case
    rest: str = ""  # what follows: a reason, a name, a quote's lines, a note
    word: str = ""  # insert: the node's word (质检)


def parse_flow_command(text: str) -> FlowCommand | None:
    """The workflow command in ``text`` (mentions already removed), or None."""
    t = " ".join((text or "").split())
    if not t or len(t) > 500:
        return None
    m = TICKET_NO.search(t)
    ticket = m.group(0).upper() if m else None
    ins = _INSERT.match(t)
    if ins and ticket:
        return FlowCommand("insert", ticket, word=ins.group(1))
    for kind, lead in _LEADS:
        lm = lead.match(t)
        if lm is None:
            continue
        rest = TICKET_NO.sub("", t[lm.end():], count=1).strip(" ：:，,")
        if kind in ("approve", "reject", "done", "trail", "transfer") and ticket is None:
            return None  # "同意" / "完成" alone are someone else's words (intake, dispatch)
        if kind in CUSTOMER_KINDS and lm.group(0) in ("接受", "不接受") and rest:
            return None  # "接受" + other words is a sentence, not an answer to a quote
        if kind == "transfer" and not rest:
            return None
        if kind == "quote" and not rest:
            return None
        return FlowCommand(kind, ticket, rest)
    return None
