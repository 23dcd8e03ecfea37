"""Intake's cards: the confirmation card of a draft (确认 / 修改 / 取消)."""

from __future__ import annotations

from typing import Any, Final

from bot.cards import ButtonKey, button_card
from models.keys import intake_task

INTAKE_ACTIONS: Final = ("confirm", "edit", "cancel")


def intake_key(action: str, draft_id: int) -> str:
    return ButtonKey.make("intake", action, draft_id, actions=INTAKE_ACTIONS)


def intake_confirm_card(*, draft_id: int, revision: int, title: str, desc: str,
                        rows: list[tuple[str, str]], labels: dict[str, str],
                        source: str = "") -> dict[str, Any]:
    """The confirmation card of a draft: 确认 / 修改 / 取消 (labels from the caller)."""
    return button_card(
        task_id=intake_task(draft_id, revision), title=title, desc=desc, rows=rows,
        buttons=[(labels["confirm"], intake_key("confirm", draft_id), 1),
                 (labels["edit"], intake_key("edit", draft_id), 2),
                 (labels["cancel"], intake_key("cancel", draft_id), 3)],
        source=source)
