"""Dispatch's cards: an offer (接单 / 拒单 / 转派, or 抢单), a pick of people (转派 / 指派) and
an accepted job's steps (出发 → 到达 → 完工)."""

from __future__ import annotations

from typing import Any, Final

from bot.cards import MAX_BUTTONS, ButtonKey, button_card
from models.keys import offer_task, work_task

#: offer: accept / decline / transfer (direct) or grab; transfer_to: a colleague picked after
#: 转派 (``ref`` the offer, ``arg`` the staff id); assign: the dispatcher's pick (``ref`` the
#: dispatch job, ``arg`` the staff id); work: depart / arrive / done on an accepted job (``ref``
#: the accepted offer)
DISPATCH_ACTIONS: Final = ("accept", "decline", "transfer", "grab", "transfer_to", "assign",
                           "depart", "arrive", "done")
#: the dispatch actions whose key carries a staff id (``arg``); every other one carries none
DISPATCH_ARG_ACTIONS: Final = ("transfer_to", "assign")


def dispatch_key(action: str, ref: int, arg: int | None = None) -> str:
    return ButtonKey.make("dispatch", action, ref, arg, actions=DISPATCH_ACTIONS)


def offer_card(*, offer_id: int, grab: bool, title: str, desc: str, rows: list[tuple[str, str]],
               labels: dict[str, str], source: str = "") -> dict[str, Any]:
    """A job offered to one technician: 接单 / 拒单 / 转派, or 抢单 when it went to several."""
    actions = ("grab",) if grab else ("accept", "decline", "transfer")
    styles = {"grab": 1, "accept": 1, "decline": 3, "transfer": 2}
    return button_card(task_id=offer_task(offer_id), title=title, desc=desc, rows=rows,
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
    return button_card(task_id=work_task(offer_id), title=title, desc=desc, rows=rows,
                       buttons=[(labels[a], dispatch_key(a, offer_id), 1 if a == ahead[0] else 2)
                                for a in ahead], source=source)
