"""The person-facing page (``static/index.html``) and its JSON API: pick a persona, read
their conversation (cards as they are now), write, click and share a location as them."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.sandbox.state import PERSONAS, Persona

STATIC = Path(__file__).parent / "static"


class PersonaPage:
    """Mixed into ``Sandbox`` (``server.py``): what people do is ``People`` (``people.py``)."""

    # -- the page ---------------------------------------------------------------------------

    def conversation_of(self, p: Persona) -> str:
        return {"app": f"app:{p.userid}", "aibot_single": f"aibot:u:{p.userid}",
                "aibot_group": f"aibot:g:{p.chat_id}", "kf": f"kf:{p.userid}"}[p.channel]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def api_personas(self, request: web.Request) -> web.Response:
        return web.json_response([p.__dict__ for p in PERSONAS])

    async def api_lines(self, request: web.Request) -> web.Response:
        p = self.personas.get(request.query.get("persona", ""))
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        conv = self.conversation_of(p)
        out = []
        for ln in self.state.lines:
            if ln.conversation != conv:
                continue
            item = {"id": ln.id, "sender": ln.sender, "kind": ln.kind, "content": ln.content,
                    "ts": ln.ts, "task_id": ln.task_id}
            if ln.kind == "card" and ln.task_id in self.state.cards:
                st = self.state.cards[ln.task_id]
                item["content"], item["replaced"] = st["card"], st["replaced"]
            out.append(item)
        return web.json_response({"conversation": conv, "lines": out})

    async def api_say(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        text = str(data.get("text", ""))
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        if p.channel == "app":
            rec = await self.member_says(p.userid, text)
        elif p.channel == "kf":
            rec = await self.customer_kf(p.userid, text)
        else:
            rec = await self.aibot_says(p.userid, text, p.chat_id)
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_click(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        if p is None or p.channel != "app":
            return web.json_response({"error": "cards are clicked by app members"}, status=400)
        rec = await self.click(p.userid, str(data.get("task_id", "")), str(data.get("key", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_location(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        if p is None or p.channel != "app":
            return web.json_response({"error": "locations are sent by app members"}, status=400)
        rec = await self.member_location(p.userid, float(data.get("lat", 31.23)),
                                         float(data.get("lon", 121.47)), str(data.get("label", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": self.state.calls[-200:],
                                  "dropped": len(self.state.dropped),
                                  "deliveries": self.state.deliveries[-50:]})
