"""Intake's small pure helpers: masking and quoting what is said back, local times, and whether
a report describes a ticket's problem. No database, no context."""

from __future__ import annotations

import re
from datetime import datetime

from rapidfuzz import fuzz

from handlers.voice import local_when
from models.tickets import Ticket

QUOTE = 60  # characters of the user's text quoted back
WINDOW_HOURS = {"minute": 1, "part_of_day": 4, "date": 10}  # appointment window length
PRIORITIES = ("low", "normal", "high", "urgent")
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """13812345678 → 138****5678."""
    return MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[:QUOTE] + "…"


def local_time(iso: str, precision: str | None) -> str:
    return local_when(datetime.fromisoformat(iso), precision)


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def same_problem(text: str, device: str | None, address: str | None, ticket: Ticket,
                 threshold: int, store: str | None = None) -> bool:
    """Whether a report describes ``ticket``'s problem (rapidfuzz over text, device, address);
    never when the two name different stores (5号店's coffee machine is not 3号店's)."""
    if store and ticket.store and store != ticket.store:
        return False
    if device and ticket.device:
        if device != ticket.device:
            return False
        if address and ticket.address:
            return fuzz.ratio(_norm(address), _norm(ticket.address)) >= threshold
        return True
    a, b = _norm(text), _norm(ticket.description.split("\n")[0])
    return len(a) >= 4 and fuzz.ratio(a, b) >= threshold
