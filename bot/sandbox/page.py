"""The person-facing page (``static/index.html``) and its JSON API: pick a persona, read every
chat that person sees (cards as they are now), write, click and share a location as them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.personas import chats_of
from bot.sandbox.state import Chat, Persona

STATIC = Path(__file__).parent / "static"


class PersonaPage:
    """Mixed into ``Sandbox`` (``server.py``): what people do is ``People`` (``people.py``)."""

    personas: dict[str, Persona]

    # -- the page ---------------------------------------------------------------------------

    def conversation_of(self, p: Persona) -> str:
        """The chat the persona writes in first (their AI-bot, 客服 or app chat)."""
        return chats_of(p)[0].id

    def _persona(self, data: Any) -> Persona | None:
        return self.personas.get(str(data.get("persona", "")))

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def favicon(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "favicon.svg",
                                headers={"Content-Type": "image/svg+xml"})

    async def api_personas(self, request: web.Request) -> web.Response:
        return web.json_response([{**p.__dict__, "chats": [c.__dict__ for c in chats_of(p)]}
                                  for p in self.personas.values()])

    async def api_lines(self, request: web.Request) -> web.Response:
        """Every line of every chat the persona sees, in order; each says its ``chat`` (the
        conversation), ``chat_kind`` (kf | aibot | app | webhook) and ``chat_label``."""
        p = self._persona(request.query)
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        chats = {c.id: c for c in chats_of(p)}
        out = []
        for ln in self.state.lines:
            chat = chats.get(ln.conversation)
            if chat is None:
                continue
            item = {"id": ln.id, "sender": ln.sender, "kind": ln.kind, "content": ln.content,
                    "ts": ln.ts, "task_id": ln.task_id, "chat": chat.id,
                    "chat_kind": chat.kind, "chat_label": chat.label}
            if ln.kind == "card" and ln.task_id in self.state.cards:
                st = self.state.cards[ln.task_id]
                item["content"], item["replaced"] = st["card"], st["replaced"]
                # Buttons are clicked through the app (WeCom's template_card_event).
                item["clickable"] = chat.kind == "app" and st["user"] == p.userid
            out.append(item)
        return web.json_response({"conversation": self.conversation_of(p),
                                  "chats": [c.__dict__ for c in chats.values()], "lines": out})

    def _writable(self, p: Persona, chat_id: str) -> Chat | None:
        chats = [c for c in chats_of(p) if c.writable]
        if not chat_id:
            return chats[0] if chats else None
        return next((c for c in chats if c.id == chat_id), None)

    async def api_say(self, request: web.Request) -> web.Response:
        """``{persona, text, chat?}``: the persona writes in ``chat`` (default: their first)."""
        data = await request.json()
        p = self._persona(data)
        text = str(data.get("text", ""))
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        chat = self._writable(p, str(data.get("chat") or ""))
        if chat is None:
            return web.json_response({"error": "this persona cannot write there"}, status=400)
        if chat.kind == "app":
            rec = await self.member_says(p.userid, text)
        elif chat.kind == "kf":
            rec = await self.customer_kf(p.userid, text)
        else:
            rec = await self.aibot_says(p.userid, text, p.chat_id)
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_click(self, request: web.Request) -> web.Response:
        """A card button, clicked by the member the card was sent to, through the app."""
        data = await request.json()
        p = self._persona(data)
        task_id = str(data.get("task_id", ""))
        card = self.state.cards.get(task_id)
        if p is None or not any(c.kind == "app" for c in chats_of(p)):
            return web.json_response({"error": "cards are clicked by members, in the app"},
                                     status=400)
        if card is None or card["user"] != p.userid:
            return web.json_response({"error": "no such card in this persona's chats"},
                                     status=400)
        rec = await self.click(p.userid, task_id, str(data.get("key", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_location(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self._persona(data)
        if p is None or p.channel != "app":
            return web.json_response({"error": "locations are sent by app members"}, status=400)
        rec = await self.member_location(p.userid, float(data.get("lat", 31.23)),
                                         float(data.get("lon", 121.47)), str(data.get("label", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": self.state.calls[-200:],
                                  "dropped": len(self.state.dropped),
                                  "deliveries": self.state.deliveries[-50:]})
