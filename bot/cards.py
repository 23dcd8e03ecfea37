"""Template-card JSON for WeCom ``button_interaction`` cards, and their typed button keys.

Every card the bot sends is built by ``button_card``, so the limits WeCom enforces are checked in
one place: ``task_id`` ≤ 128 bytes of ``[0-9A-Za-z_\\-@]``, at most 6 buttons, unique keys
(≤ 1024 bytes), at most 6 horizontal content rows. Each feature builds its own cards from it in
its ``views.py``, with its own wording (``handlers/<feature>/texts.py``).

Button keys are ``<feature>:<action>:<id>`` (e.g. ``intake:confirm:42``, ``ButtonKey.make``); a
router registers ``@router.card(prefix="intake:")`` and parses the rest with ``ButtonKey.parse``
or ``parse_key``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

TASK_ID_RE: Final = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
MAX_BUTTONS: Final = 6
MAX_ROWS: Final = 6
MAX_VALUE: Final = 26  # characters WeCom shows of a horizontal content value

#: ids in keys are database ids: positive, and below 2**53 (exact in any JSON reader). A key
#: is input — WeCom echoes ours, but anyone can forge one — so it is checked like any input.
MAX_KEY_ID: Final = 2**53 - 1
MAX_KEY_LENGTH: Final = 128  # ours are "transfer_to:<id>:<id>", far shorter
_KEY_ID_RE: Final = re.compile(r"[1-9][0-9]{0,15}")  # ASCII digits only: "²".isdigit() is True


class CardError(ValueError):
    """A card that WeCom would refuse."""


@dataclass(frozen=True)
class ButtonKey:
    """``<feature>:<action>:<ref>[:<arg>]`` — e.g. ``dispatch:assign:12:7`` (job 12, staff 7)."""

    feature: str
    action: str
    ref: int
    arg: int | None = None

    def __str__(self) -> str:
        tail = f":{self.arg}" if self.arg is not None else ""
        return f"{self.feature}:{self.action}:{self.ref}{tail}"

    @classmethod
    def parse(cls, feature: str, rest: str, actions: tuple[str, ...],
              arg_actions: tuple[str, ...] | None = None) -> "ButtonKey | None":
        """The key after its ``feature:`` prefix (as a router hands it over), or None for
        anything we never sent: an unknown action, an id that is not a positive integer below
        2**53, a missing or extra ``arg`` (with ``arg_actions``, exactly those take one)."""
        if not isinstance(rest, str) or len(rest) > MAX_KEY_LENGTH:
            return None
        parts = rest.split(":")
        if not 2 <= len(parts) <= 3 or parts[0] not in actions:
            return None
        if not all(_KEY_ID_RE.fullmatch(p) and int(p) <= MAX_KEY_ID for p in parts[1:]):
            return None
        if arg_actions is not None and (len(parts) == 3) != (parts[0] in arg_actions):
            return None
        return cls(feature, parts[0], int(parts[1]), int(parts[2]) if len(parts) == 3 else None)

    @classmethod
    def make(cls, feature: str, action: str, ref: int, arg: int | None = None, *,
             actions: tuple[str, ...]) -> str:
        """The key of a button of ``feature`` (its ``actions`` are the ones it parses back)."""
        if action not in actions:
            raise CardError(f"unknown {feature} action {action!r}")
        return str(cls(feature, action, ref, arg))


def parse_key(rest: str, actions: tuple[str, ...]) -> tuple[str, int] | None:
    """``"confirm:42"`` (the key after its feature prefix) → ``("confirm", 42)``, else None."""
    key = ButtonKey.parse("", rest, actions)
    return (key.action, key.ref) if key is not None and key.arg is None else None


def button_card(*, task_id: str, title: str, desc: str, rows: list[tuple[str, str]],
                buttons: list[tuple[str, str, int]], source: str = "") -> dict[str, Any]:
    """A ``button_interaction`` card. ``buttons``: (text, key, style 1–4)."""
    if not TASK_ID_RE.match(task_id) or len(task_id.encode()) > 128:
        raise CardError(f"invalid task_id {task_id!r}")
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise CardError(f"{len(buttons)} buttons (1..{MAX_BUTTONS} allowed)")
    keys = [k for _, k, _ in buttons]
    if len(set(keys)) != len(keys) or any(len(k.encode()) > 1024 for k in keys):
        raise CardError("button keys must be unique and at most 1024 bytes")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title[:36], "desc": desc[:44]},
        "task_id": task_id,
        "horizontal_content_list": [
            {"keyname": k[:5], "value": v if len(v) <= MAX_VALUE else v[:MAX_VALUE - 1] + "…"}
            for k, v in rows[:MAX_ROWS] if v],
        "button_list": [{"text": t[:10], "style": s, "key": k} for t, k, s in buttons],
    }
    if source:
        card["source"] = {"desc": source}
    return card
