"""Settlement's card: a statement for one party, 确认 / 异议."""

from __future__ import annotations

from typing import Any, Final

from bot.cards import ButtonKey, button_card
from models.keys import settle_task

#: ``settle:<action>:<ack id>`` — the party's answer (``settlement_ack`` row) to one statement
SETTLE_ACTIONS: Final = ("confirm", "dispute")


def settle_key(action: str, ack_id: int) -> str:
    return ButtonKey.make("settle", action, ack_id, actions=SETTLE_ACTIONS)


def settlement_card(*, ack_id: int, title: str, desc: str, rows: list[tuple[str, str]],
                    labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A statement for one party: 确认 / 异议 (labels from the caller)."""
    return button_card(
        task_id=settle_task(ack_id), title=title, desc=desc, rows=rows,
        buttons=[(labels["confirm"], settle_key("confirm", ack_id), 1),
                 (labels["dispute"], settle_key("dispute", ack_id), 2)],
        source=source)
