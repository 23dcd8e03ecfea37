"""The customer's journeys, channel by channel, through the sandbox — and what the customer reads.

Journey A: the customer reports 人民广场店咖啡机坏了 (a store of config/sandbox/sites.yaml, which
knows no "3号店"), the bot asks for a phone and a visit time, the customer answers and confirms;
李师傅 accepts the offer card, clicks 出发 and 到达, reports ``完工 工时1.5小时 配件 密封圈2个每个5元 水泵1个`` (the
pump without a price), is asked for the price and answers ``水泵 180元``; the statement reaches
the customer, who types 确认. Journey B: the same up to the statement, then the customer disputes
it, finance corrects it with ``python main.py settle review correct`` and the correction reaches
the customer, who confirms it.

Each customer is a persona of the sandbox page (``bot/sandbox/personas.py``) and sees exactly
the chats ``chats_of`` gives that persona: 微信客服; the AI bot's 1:1 chat and the 「工单助手」
app; the store group, its 消息推送 robot and the app; the app. ``tests/scenarios/test_journeys.py``
asserts on these journeys; run this module to print what the customer reads at each step:

    .venv/bin/python -m tests.scenarios.journey_transcript [--channel kf|aibot_user|aibot_group|app]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.sandbox.personas import chats_of
from bot.sandbox.state import BOT_NAME, Chat, Persona
from handlers.staff.seed import seed_sandbox
from models.settlement import SettlementReview
from models.tickets import Ticket
from tests.conftest import Stack, start_stack
from tests.scenarios.test_dispatch import click
from tests.scenarios.test_settlement import settle_command

TECH, TECH_NAME, FINANCE = "lishifu", "李师傅", "qiankuaiji"
STORE = "人民广场店"
REPORT = f"{STORE}咖啡机坏了"
PHONE = "13812345678"
DONE = "完工 工时1.5小时 配件 密封圈2个每个5元 水泵1个"
PRICE = "水泵 180元"
DISPUTE = "有异议，工时只有1小时"
CORRECT_NOTE = "按实际工时1小时计"

#: channel → (the sandbox persona who is the customer there, how the channel is called)
CHANNELS: dict[str, tuple[str, str]] = {
    "kf": ("kf_chen", "微信客服"),
    "aibot_user": ("bot_liu", "AI 机器人单聊"),
    "aibot_group": ("grp_zhang", "AI 机器人群聊（@工单助手）"),
    "app": ("app_zhang", "自建应用成员"),
}


def card_text(card: dict[str, Any], replaced: str | None = None) -> str:
    """A template card as a person reads it: title, rows, buttons (or what replaced them)."""
    title = card.get("main_title") or {}
    head = " ".join(x for x in (title.get("title"), title.get("desc")) if x)
    rows = [f"{r.get('keyname')} {r.get('value')}" for r in card.get("horizontal_content_list")
            or []]
    buttons = " / ".join(b.get("text", "") for b in card.get("button_list") or [])
    tail = f"〔{replaced}〕" if replaced else (f"按钮：{buttons}" if buttons else "")
    return "［卡片］" + "｜".join(x for x in (head, *rows, tail) if x)


@dataclass
class Seen:
    """One line the customer sees: in which of their chats, and what."""

    chat: Chat
    kind: str  # text | markdown | card | card_update (a card of theirs changed in place)
    text: str  # a card rendered by card_text
    card: dict[str, Any] | None = None


@dataclass
class Step:
    name: str
    did: str  # who did what, as the people saw it
    seen: list[Seen] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """What the bot wrote to the customer at this step (cards aside)."""
        return [s.text for s in self.seen if s.kind in ("text", "markdown")]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [s.card for s in self.seen if s.card is not None]

    def text(self) -> str:
        return "\n".join(self.texts)


class Journey:
    """One customer on one channel, and every step with what the customer saw at it."""

    def __init__(self, stack: Stack, channel: str) -> None:
        self.stack, self.channel = stack, channel
        persona_id, self.label = CHANNELS[channel]
        self.persona: Persona = stack.sandbox.personas[persona_id]
        self.chats = {c.id: c for c in chats_of(self.persona)}
        self.steps: list[Step] = []
        self._read = len(stack.sandbox.state.lines)
        self.number = ""
        self._cards: dict[str, tuple[Chat, str | None]] = {}  # the customer's cards, replaced

    @property
    def user(self) -> str:
        return self.persona.userid

    def typed(self, text: str) -> str:
        """The text as this channel's customer types it: in a group, with the mention."""
        return f"@{BOT_NAME} {text}" if self.channel == "aibot_group" else text

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def _record(self, name: str, did: str) -> Step:
        state = self.stack.sandbox.state
        step = Step(name, did)
        for ln in state.lines[self._read:]:
            chat = self.chats.get(ln.conversation)
            if chat is None or ln.sender != "bot":
                continue
            if ln.kind == "card":
                self._cards[ln.task_id] = (chat, None)
                step.seen.append(Seen(chat, "card", card_text(ln.content), ln.content))
            else:
                content = ln.content.get("content", "") if isinstance(ln.content, dict) \
                    else ln.content
                step.seen.append(Seen(chat, ln.kind, str(content)))
        for task_id, (chat, was) in list(self._cards.items()):  # a card of theirs changed
            now = (state.cards.get(task_id) or {}).get("replaced")
            if now and now != was:
                self._cards[task_id] = (chat, now)
                card = state.cards[task_id]["card"]
                step.seen.append(Seen(chat, "card_update", card_text(card, now)))
        self._read = len(state.lines)
        self.steps.append(step)
        return step

    async def customer(self, name: str, text: str) -> Step:
        typed = self.typed(text)
        self.stack.clock.advance(seconds=20)  # people take a moment to type
        sb = self.stack.sandbox
        if self.persona.channel == "kf":
            await sb.customer_kf(self.user, typed)
        elif self.persona.channel == "app":
            await sb.member_says(self.user, typed)
        else:
            await sb.aibot_says(self.user, typed, self.persona.chat_id)
        await self.stack.settle()
        return self._record(name, f"客户：{typed}")

    async def technician_clicks(self, name: str, action: str, card=None) -> Step:
        card = card or self.stack.cards(TECH)[-1]
        label = next(b["text"] for b in card.content["button_list"]
                     if b["key"].split(":")[1] == action)
        self.stack.clock.advance(minutes=5)
        await click(self.stack, TECH, card, action)
        return self._record(name, f"{TECH_NAME}点击卡片上的「{label}」")

    async def technician_says(self, name: str, text: str) -> Step:
        self.stack.clock.advance(minutes=5)
        await self.stack.sandbox.member_says(TECH, text)
        await self.stack.settle()
        return self._record(name, f"{TECH_NAME}：{text}")

    async def finance_corrects(self, name: str) -> Step:
        async with self.stack.bot.sm() as s:
            review = (await s.execute(select(SettlementReview).order_by(
                SettlementReview.id.desc()))).scalars().first()
        argv = ["settle", "review", "correct", str(review.id), "--hours", "1",
                "--note", CORRECT_NOTE, "--by", FINANCE]
        await settle_command({"DATABASE_URL": self.stack.bot.settings.DATABASE_URL}, argv)
        await self.stack.settle()
        return self._record(name, "财务：python main.py " + " ".join(
            f'"{a}"' if " " in a else a for a in argv))

    def elsewhere(self) -> dict[str, list[str]]:
        """Lines in chats that are neither this customer's nor a staff member's app chat:
        what reached the customer on a channel they do not use (or anyone else)."""
        staff = {f"app:{p.userid}" for p in self.stack.sandbox.personas.values()
                 if p.role in ("technician", "manager", "finance")}
        out: dict[str, list[str]] = {}
        for ln in self.stack.sandbox.state.lines:
            if ln.conversation not in self.chats and ln.conversation not in staff:
                out.setdefault(ln.conversation, []).append(str(ln.content))
        return out


async def open_stack(db_url: str) -> Stack:
    """The sandbox and the bot with the sandbox's people and stores (as ``make run`` has)."""
    stack = await start_stack(db_url)
    async with stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, stack.clock.now())
    return stack


async def close_stack(stack: Stack) -> None:
    await stack.bot.stop()
    await stack.sandbox.stop()


async def up_to_the_statement(j: Journey) -> None:
    await j.customer("报修", REPORT)
    await j.customer("留电话", PHONE)
    await j.customer("上门时间", "尽快")
    await j.customer("确认工单", "确认")
    [ticket] = await j.stack.rows(Ticket)
    j.number = ticket.number
    await j.technician_clicks("接单", "accept")
    work = j.stack.cards(TECH)[-1]  # the work card: 出发 / 到达 / 完工
    await j.technician_clicks("出发", "depart", work)
    await j.technician_clicks("到达", "arrive", work)
    await j.technician_says("完工", DONE)
    await j.technician_says("补报单价", PRICE)


async def journey_a(stack: Stack, channel: str) -> Journey:
    j = Journey(stack, channel)
    await up_to_the_statement(j)
    await j.customer("确认账单", "确认")
    return j


async def journey_b(stack: Stack, channel: str) -> Journey:
    j = Journey(stack, channel)
    await up_to_the_statement(j)
    await j.customer("异议", DISPUTE)
    await j.finance_corrects("财务更正")
    await j.customer("确认更正后的账单", "确认")
    return j


def render(j: Journey, title: str, start: str = "") -> str:
    """The steps from ``start`` on (all by default), each with what the customer read."""
    out = [f"### {j.label}（{j.persona.name}）— {title}", ""]
    steps = j.steps
    if start:
        steps = steps[next(i for i, s in enumerate(steps) if s.name == start):]
        out += ["（到结算单为止与旅程 A 相同）", ""]
    for s in steps:
        out.append(f"**{s.name}** — {s.did}")
        if not s.seen:
            out.append("    （客户这一步没有收到消息）")
        for seen in s.seen:
            lines = seen.text.split("\n")
            out.append(f"    [{seen.chat.label}] {lines[0]}")
            out.extend(f"        {x}" for x in lines[1:])
        out.append("")
    return "\n".join(out)


async def transcript(channels: list[str]) -> str:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        from models.db import migrate

        for channel in channels:
            for title, run, start in (("旅程 A：报修 → 完工 → 结算单 → 确认", journey_a, ""),
                                      ("旅程 B：结算单 → 异议 → 财务更正 → 确认", journey_b,
                                       "异议")):
                url = f"sqlite:///{Path(tmp) / f'{channel}-{run.__name__}.db'}"
                migrate(url)
                stack = await open_stack(url)
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        j = await run(stack, channel)
                    out.append(render(j, title, start))
                    stray = j.elsewhere()
                    out.append(f"    其他渠道收到的消息：{stray if stray else '无'}\n")
                finally:
                    await close_stack(stack)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channel", choices=list(CHANNELS), action="append")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # the bot's own log lines are not the customer's
    print(asyncio.run(transcript(args.channel or list(CHANNELS))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
