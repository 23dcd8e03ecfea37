"""Template-card JSON for WeCom ``button_interaction`` cards, and their typed button keys.

Every card the bot sends is built here, so the limits WeCom enforces are checked in one place:
``task_id`` ≤ 128 bytes of ``[0-9A-Za-z_\\-@]``, at most 6 buttons, unique keys (≤ 1024 bytes),
at most 6 horizontal content rows. Wording comes from the caller (``handlers.texts``).

Button keys are ``<feature>:<action>:<id>`` (e.g. ``intake:confirm:42``); a router registers
``@router.card(prefix="intake:")`` and parses the rest with ``parse_key``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

TASK_ID_RE: Final = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
MAX_BUTTONS: Final = 6
MAX_ROWS: Final = 6
MAX_VALUE: Final = 26  # characters WeCom shows of a horizontal content value

INTAKE_ACTIONS: Final = ("confirm", "edit", "cancel")


class CardError(ValueError):
    """A card that WeCom would refuse."""


@dataclass(frozen=True)
class ButtonKey:
    feature: str
    action: str
    ref: int

    def __str__(self) -> str:
        return f"{self.feature}:{self.action}:{self.ref}"


def intake_key(action: str, draft_id: int) -> str:
    if action not in INTAKE_ACTIONS:
        raise CardError(f"unknown intake action {action!r}")
    return str(ButtonKey("intake", action, draft_id))


def parse_key(rest: str, actions: tuple[str, ...]) -> tuple[str, int] | None:
    """``"confirm:42"`` (the key after its feature prefix) → ``("confirm", 42)``, else None."""
    action, _, ref = rest.partition(":")
    if action not in actions or not ref.isdigit():
        return None
    return action, int(ref)


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


def intake_confirm_card(*, draft_id: int, revision: int, title: str, desc: str,
                        rows: list[tuple[str, str]], labels: dict[str, str],
                        source: str = "") -> dict[str, Any]:
    """The confirmation card of a draft: 确认 / 修改 / 取消 (labels from the caller)."""
    return button_card(
        task_id=f"intake-d{draft_id}-r{revision}", title=title, desc=desc, rows=rows,
        buttons=[(labels["confirm"], intake_key("confirm", draft_id), 1),
                 (labels["edit"], intake_key("edit", draft_id), 2),
                 (labels["cancel"], intake_key("cancel", draft_id), 3)],
        source=source)
