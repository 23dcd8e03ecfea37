"""Answers to a statement written in chat: "确认账单 [GD…]" confirms it; a complaint about the
bill (异议, 账单不对, 多收 …) disputes it. Pure text understanding, no database. A bare "确认"
is intake's reply word (config/intake.yaml) and is recognised there, not here."""

from __future__ import annotations

import re
from typing import Final, Literal

CONFIRM_BILL: Final = re.compile(r"^(确认账单|账单确认|确认结算单?|结算单?确认|账单没问题|账单无误)")
DISPUTE_WORDS: Final = re.compile(
    r"异议|账单(不对|有误|错了)|(金额|费用|收费|价格|价钱)(不对|有误|错了|太高)|多收|乱收费")


def bill_answer(text: str) -> Literal["confirm", "dispute"] | None:
    if CONFIRM_BILL.match(text):
        return "confirm"
    if DISPUTE_WORDS.search(text):
        return "dispute"
    return None


#: a ticket number as the bot hands them out (``GD20261125-0007``), in any case
TICKET_NO: Final = re.compile(r"GD\d{8}-\d{4}", re.IGNORECASE)
