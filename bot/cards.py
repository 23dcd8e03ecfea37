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
#: offer: accept / decline / transfer (direct) or grab; transfer_to: a colleague picked after
#: 转派 (``ref`` the offer, ``arg`` the staff id); assign: the dispatcher's pick (``ref`` the
#: dispatch job, ``arg`` the staff id); work: depart / arrive / done on an accepted job (``ref``
#: the accepted offer)
DISPATCH_ACTIONS: Final = ("accept", "decline", "transfer", "grab", "transfer_to", "assign",
                           "depart", "arrive", "done")
#: the dispatch actions whose key carries a staff id (``arg``); every other one carries none
DISPATCH_ARG_ACTIONS: Final = ("transfer_to", "assign")

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


def intake_key(action: str, draft_id: int) -> str:
    if action not in INTAKE_ACTIONS:
        raise CardError(f"unknown intake action {action!r}")
    return str(ButtonKey("intake", action, draft_id))


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


# -- dispatch cards -------------------------------------------------------------------------


def dispatch_key(action: str, ref: int, arg: int | None = None) -> str:
    if action not in DISPATCH_ACTIONS:
        raise CardError(f"unknown dispatch action {action!r}")
    return str(ButtonKey("dispatch", action, ref, arg))


def offer_task_id(offer_id: int) -> str:
    return f"offer-{offer_id}"


def work_task_id(offer_id: int) -> str:
    return f"work-{offer_id}"


def offer_card(*, offer_id: int, grab: bool, title: str, desc: str, rows: list[tuple[str, str]],
               labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A job offered to one technician: 接单 / 拒单 / 转派, or 抢单 when it went to several."""
    actions = ("grab",) if grab else ("accept", "decline", "transfer")
    styles = {"grab": 1, "accept": 1, "decline": 3, "transfer": 2}
    return button_card(task_id=offer_task_id(offer_id), title=title, desc=desc, rows=rows,
                       buttons=[(labels[a], dispatch_key(a, offer_id), styles[a]) for a in actions],
                       source=source)


def pick_card(*, task_id: str, action: str, ref: int, title: str, desc: str,
              rows: list[tuple[str, str]], choices: list[tuple[str, int]],
              source: str = "") -> dict[str, Any]:
    """Choose a person: one button per (label, staff id), at most six (转派 / 指派)."""
    return button_card(task_id=task_id, title=title, desc=desc, rows=rows,
                       buttons=[(label, dispatch_key(action, ref, sid), 1 if i == 0 else 2)
                                for i, (label, sid) in enumerate(choices[:MAX_BUTTONS])],
                       source=source)


def work_card(*, offer_id: int, stage: str, title: str, desc: str, rows: list[tuple[str, str]],
              labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """An accepted job: the steps still ahead (出发 → 到达 → 完工) as buttons; the card is
    replaced in place as the technician moves on (same task_id)."""
    ahead = {"accepted": ("depart", "arrive", "done"), "departed": ("arrive", "done"),
             "arrived": ("done",)}[stage]
    return button_card(task_id=work_task_id(offer_id), title=title, desc=desc, rows=rows,
                       buttons=[(labels[a], dispatch_key(a, offer_id), 1 if a == ahead[0] else 2)
                                for a in ahead], source=source)


# -- settlement: the statement card of one party (handlers/settlement.py) ---------------------

#: ``settle:<action>:<ack id>`` — the party's answer (``settlement_ack`` row) to one statement
SETTLE_ACTIONS: Final = ("confirm", "dispute")


def settle_key(action: str, ack_id: int) -> str:
    if action not in SETTLE_ACTIONS:
        raise CardError(f"unknown settlement action {action!r}")
    return str(ButtonKey("settle", action, ack_id))


def settle_task_id(ack_id: int) -> str:
    return f"settle-a{ack_id}"


def settlement_card(*, ack_id: int, title: str, desc: str, rows: list[tuple[str, str]],
                    labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A statement for one party: 确认 / 异议 (labels from the caller)."""
    return button_card(
        task_id=settle_task_id(ack_id), title=title, desc=desc, rows=rows,
        buttons=[(labels["confirm"], settle_key("confirm", ack_id), 1),
                 (labels["dispute"], settle_key("dispute", ack_id), 2)],
        source=source)
