"""E-commerce orders and web forms become tickets — through the same use case as the API (and
so as the chat): ``usecases.open_ticket``.

* ``POST /api/orders``: an order needing installation → an ``install`` ticket (offered to
  technicians by dispatch on ``ticket_created``) with the customer's slot, or the next day's
  morning; the customer's appointment SMS is queued in the same transaction and sent by the
  delivery pump (``webhooks.py``) within seconds.
* ``GET /api/forms/{key}``: an HTML form (询价 / 报修) a company embeds (an ``<iframe>``);
  ``POST`` creates the ticket. The form carries a one-time token used as the idempotency key,
  so a double submit makes one ticket. Forms need no API key: they are limited per form.
"""

from __future__ import annotations

import html
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from handlers.board import schemas as S
from handlers.board.config import ApiConfig
from handlers.board.routes import order_taken, place_fields, ticket_out
from handlers.board.usecases import Refused, api_event, open_ticket, run
from handlers.board.webhooks import Deps, arm_pump
from handlers.intake.config import IntakeConfig
from models.api import ApiDelivery, ApiEvent, ApiTicketLink
from models.db import write_session
from models.types import LOCAL_TZ

HANDLERS: dict[str, Any] = {}
FORM_RATE_PER_MINUTE = 30


def local_text(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%m月%d日 %H:%M")


def default_slot(cfg: ApiConfig, now: datetime) -> datetime:
    day = (now.astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    return datetime.combine(day, cfg.orders.default_start, tzinfo=LOCAL_TZ)


async def queue_sms(session: Any, *, source: str, ticket_id: int, phone: str, text: str,
                    params: list[str], now: datetime) -> None:
    """An SMS to send, in the caller's transaction (the pump sends it; unique per source)."""
    ev = ApiEvent(source=source, type="sms", ticket_id=ticket_id,
                  data={"phone": phone, "text": text, "params": params}, created_at=now)
    session.add(ev)
    await session.flush()
    session.add(ApiDelivery(event_id=ev.id, target="sms",  # type: ignore[arg-type]
                            body=json.dumps({"phone": phone, "text": text, "params": params},
                                            ensure_ascii=False),
                            next_attempt_at=now, created_at=now))
    await session.flush()


async def create_order(api: Any, request: web.Request, caller: Any, body: S.OrderIn
                       ) -> web.Response:
    s, now, cfg = request["session"], api.clock.now(), api.config
    if await order_taken(s, caller.name, body.order_number):
        raise Refused(409, "order-exists", "Order already has a ticket",
                      f"order {body.order_number} already has a ticket (use the same "
                      "Idempotency-Key to get its answer again)")
    slot = body.appointment or default_slot(cfg, now)
    items = "、".join(f"{i.name}×{i.quantity}" for i in body.items)
    description = f"电商订单 {body.order_number} 安装：{items}" + (
        f"。备注：{body.note}" if body.note else "")
    fields = {"phone": body.phone, "device": body.items[0].name, "order": body.order_number,
              "appointment": slot.isoformat(), "precision": "part_of_day",
              "items": [i.model_dump() for i in body.items],
              **await place_fields(api, body, now)}
    event = api_event(caller.name, request["idem"], "order")
    ticket = await run(s, api.services, api.clock, event, lambda ctx: open_ticket(
        ctx, api.services[IntakeConfig], category=cfg.orders.category,
        description=description, fields=fields, name=body.name or "", source="order",
        order_number=body.order_number))
    sms = "none"
    if api.services[Deps].sms is not None:  # no provider: no SMS promised
        params = [body.order_number, local_text(slot), ticket.number]
        text = cfg.orders.sms_template.format(order=params[0], time=params[1],
                                              number=params[2])
        await queue_sms(s, source=f"sms:order:{ticket.id}", ticket_id=ticket.id,  # type: ignore[arg-type]
                        phone=body.phone, text=text, params=params, now=now)
        await arm_pump(s, now)
        sms = "queued"
    out = S.OrderOut(order_number=body.order_number,
                     ticket=ticket_out(ticket, await s.get(ApiTicketLink, ticket.id)),  # type: ignore[arg-type]
                     sms=sms)
    return web.json_response(out.model_dump(mode="json"), status=201,
                             headers={"Location": f"/api/tickets/{ticket.number}"})


HANDLERS["createOrder"] = create_order


# -- web forms ------------------------------------------------------------------------------

FORM_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;margin:1rem;max-width:32rem}}
label{{display:block;margin:.6rem 0 .2rem}}input,select,textarea{{width:100%;padding:.5rem;
box-sizing:border-box;font:inherit}}button{{margin-top:1rem;padding:.6rem 1.2rem;font:inherit}}
.msg{{padding:.6rem;background:#eef7ee}}.err{{background:#fbeaea}}</style></head><body>
<h1>{title}</h1>{message}
<form method="post" action="/api/forms/{key}">
<input type="hidden" name="token" value="{token}">
<label for="kind">类型</label><select id="kind" name="kind">
<option value="repair">报修</option><option value="consult">询价 / 咨询</option></select>
<label for="name">称呼</label><input id="name" name="name" maxlength="50">
<label for="phone">手机号 *</label><input id="phone" name="phone" required maxlength="13"
 inputmode="tel">
<label for="address">地址</label><input id="address" name="address" maxlength="300">
<label for="device">设备 / 产品</label><input id="device" name="device" maxlength="100">
<label for="description">问题或需求 *</label><textarea id="description" name="description"
 required maxlength="2000" rows="4"></textarea>
<button type="submit">提交</button></form></body></html>"""


def form_page(form: Any, message: str = "", error: bool = False) -> web.Response:
    box = (f'<p class="msg{" err" if error else ""}" role="status">{html.escape(message)}</p>'
           if message else "")
    return web.Response(text=FORM_PAGE.format(
        title=html.escape(form.title), key=form.key, token=secrets.token_urlsafe(16),
        message=box), content_type="text/html", charset="utf-8")


def add_form_routes(api: Any, app: web.Application) -> None:
    async def get_form(request: web.Request) -> web.Response:
        form = api.config.form(request.match_info["key"])
        if form is None:
            raise Refused(404, "not-found", "No such form", "this form does not exist")
        return form_page(form)

    async def post_form(request: web.Request) -> web.Response:
        form = api.config.form(request.match_info["key"])
        if form is None:
            raise Refused(404, "not-found", "No such form", "this form does not exist")
        # One bucket per form (negative ids: no API key has them).
        ok, _, wait = api.buckets.take(-(abs(hash(form.key)) % 10**9) - 1,
                                       FORM_RATE_PER_MINUTE)
        if not ok:
            raise Refused(429, "rate-limited", "Too many requests", "please try again later")
        data = await request.post()
        token = str(data.get("token", ""))
        if not (8 <= len(token) <= 64 and token.isascii()):
            return form_page(form, "表单已过期，请刷新页面后重新提交。", error=True)
        kind = "consult" if data.get("kind") == "consult" else "repair"
        try:
            body = S.TicketIn.model_validate({
                "category": kind, "description": str(data.get("description", "")).strip(),
                "phone": str(data.get("phone", "")).strip(),
                "name": str(data.get("name", "")).strip() or None,
                "address": str(data.get("address", "")).strip() or None,
                "device": str(data.get("device", "")).strip() or None})
        except ValidationError as exc:
            fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            names = {"phone": "手机号", "description": "问题或需求", "name": "称呼",
                     "address": "地址", "device": "设备"}
            return form_page(form, "请检查：" + "、".join(names.get(f, f) for f in sorted(fields)),
                             error=True)
        number = await form_ticket(api, form, token, body)
        return form_page(form, f"已收到，工单号 {number}。我们会尽快与您联系。")

    app.router.add_get("/forms/{key}", get_form, allow_head=False)
    app.router.add_post("/forms/{key}", post_form)


async def form_ticket(api: Any, form: Any, token: str, body: S.TicketIn) -> str:
    """The form's ticket, once per token (the token is the idempotency key)."""
    from sqlalchemy import select

    key = f"form:{form.key}:{token}"
    source = f"form:{form.key}:{token}"
    async with write_session(api.sm, api.gate) as s:
        # The form's token is its idempotency key: the ticket it made is found by its event.
        done = (await s.execute(select(ApiEvent).where(ApiEvent.source == source))
                ).scalar_one_or_none()
        if done is not None:
            return str(done.data["ticket"])
        now = api.clock.now()
        fields = {"phone": body.phone, "device": body.device,
                  **await place_fields(api, body, now)}
        event = api_event(form.integration, key, "form")
        ticket = await run(s, api.services, api.clock, event, lambda ctx: open_ticket(
            ctx, api.services[IntakeConfig], category=body.category,
            description=body.description, fields=fields, name=body.name or "",
            source="form"))
        s.add(ApiEvent(source=source, type="form.received", ticket_id=ticket.id,
                       data={"ticket": ticket.number}, created_at=now))
    if api.on_event:
        api.on_event()
    return ticket.number
