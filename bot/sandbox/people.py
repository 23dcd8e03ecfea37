"""What people do: members writing to the app or the AI bot, clicking card buttons and sharing
locations, WeChat customers writing to 微信客服; each becomes a callback that the sandbox
encrypts, signs and delivers to the bot like WeCom (5-second timeout, up to three retries)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any
from xml.sax.saxutils import escape

import aiohttp

from bot.sandbox.state import BOT_NAME, CALLBACK_DELIVERIES, OPEN_KFID

log = logging.getLogger("sandbox")


class People:
    """Mixed into ``Sandbox`` (``server.py``): its cryptos, bot URL, HTTP session, clock, ids
    and record (``_line``) are the sandbox's."""

    # -- callbacks to the bot ---------------------------------------------------------------

    async def deliver(self, channel: str, plaintext: str) -> dict[str, Any]:
        """Encrypt, sign and POST a callback like WeCom: 5 s timeout, up to 3 retries."""
        crypto = self.app_crypto if channel == "app" else self.aibot_crypto
        if crypto is None:
            raise RuntimeError("the AI bot is not configured")
        ts, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(5)
        encrypt, sig = crypto.seal(plaintext, ts, nonce)
        if channel == "app":
            body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                    f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>").encode()
            path, ctype = "/wecom/callback", "text/xml"
        else:
            body = json.dumps({"encrypt": encrypt}).encode()
            path, ctype = "/wecom/aibot", "application/json"
        url = f"{self.bot_url}{path}?msg_signature={sig}&timestamp={ts}&nonce={nonce}"
        if self._http is None:
            raise RuntimeError("the sandbox is not started (call start() first)")
        record: dict[str, Any] = {"channel": channel, "attempts": [], "acked": False}
        for _ in range(CALLBACK_DELIVERIES):
            try:
                async with self._http.post(url, data=body, headers={"Content-Type": ctype},
                                           timeout=aiohttp.ClientTimeout(
                                               total=self.callback_timeout)) as resp:
                    text = await resp.text()
                    record["attempts"].append(resp.status)
                    if resp.status == 200:
                        record["acked"] = True
                        record["reply"] = text
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                record["attempts"].append(type(exc).__name__)
        self.state.deliveries.append(record)
        if not record["acked"]:
            log.warning("callback to the bot failed %d times: %s", CALLBACK_DELIVERIES,
                        record["attempts"])
        return record

    def _now_s(self) -> int:
        return int(self.clock.now().timestamp())

    def _app_xml(self, user: str, fields: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[{escape(user)}]]></FromUserName>"
                f"<CreateTime>{self._now_s()}</CreateTime>{fields}"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    async def member_says(self, userid: str, text: str) -> dict[str, Any]:
        """A member writes to the app 1:1 (text message, with a MsgId)."""
        self._line(f"app:{userid}", userid, "text", text)
        xml = self._app_xml(userid, f"<MsgType><![CDATA[text]]></MsgType>"
                                    f"<Content><![CDATA[{text.replace(']]>', ']] >')}]]></Content>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_location(self, userid: str, lat: float, lon: float,
                              label: str = "") -> dict[str, Any]:
        self._line(f"app:{userid}", userid, "text", f"[位置] {label or f'{lat},{lon}'}")
        xml = self._app_xml(userid, f"<MsgType><![CDATA[location]]></MsgType>"
                                    f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y>"
                                    f"<Scale>15</Scale><Label><![CDATA[{escape(label)}]]></Label>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_image(self, userid: str, pic_url: str,
                           media_id: str = "MEDIA_SANDBOX") -> dict[str, Any]:
        """A member sends a picture to the app."""
        self._line(f"app:{userid}", userid, "image", pic_url)
        xml = self._app_xml(userid, f"<MsgType><![CDATA[image]]></MsgType>"
                                    f"<PicUrl><![CDATA[{escape(pic_url)}]]></PicUrl>"
                                    f"<MediaId><![CDATA[{escape(media_id)}]]></MediaId>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_event(self, userid: str, event: str, extra: str = "") -> dict[str, Any]:
        xml = self._app_xml(userid, f"<MsgType><![CDATA[event]]></MsgType>"
                                    f"<Event><![CDATA[{event}]]></Event>{extra}")
        return await self.deliver("app", xml)

    async def click(self, userid: str, task_id: str, key: str) -> dict[str, Any]:
        """A member clicks a card button: template_card_event with a fresh ResponseCode."""
        code = self._new_response_code(userid, task_id)
        label = self.button_label(task_id, key)
        # What the person did, as they saw it: the button's label, never its key.
        self._line(f"app:{userid}", userid, "event",
                   f"点击了「{label}」" if label else "点击了卡片按钮")
        extra = (f"<EventKey><![CDATA[{escape(key)}]]></EventKey>"
                 f"<TaskId><![CDATA[{escape(task_id)}]]></TaskId>"
                 f"<CardType><![CDATA[button_interaction]]></CardType>"
                 f"<ResponseCode><![CDATA[{code}]]></ResponseCode>")
        return await self.member_event(userid, "template_card_event", extra)

    def button_label(self, task_id: str, key: str) -> str:
        """The label of the button ``key`` on the card ``task_id`` as it is shown now ("")."""
        card = (self.state.cards.get(task_id) or {}).get("card") or {}
        buttons = list(card.get("button_list") or [])
        if isinstance(card.get("submit_button"), dict):
            buttons.append(card["submit_button"])
        return next((str(b.get("text") or "") for b in buttons
                     if isinstance(b, dict) and b.get("key") == key), "")

    async def aibot_says(self, userid: str, text: str, chat_id: str = "",
                         mention: bool = True) -> dict[str, Any]:
        """A member writes to the AI bot: 1:1, or with ``chat_id`` an @-mention in a group
        (``mention=False``: a group message the bot sees without being @-mentioned). In a group
        the line shows the mention as sent: ``@工单助手 …``, added unless the text has it."""
        conv = f"aibot:g:{chat_id}" if chat_id else f"aibot:u:{userid}"
        if chat_id and mention and f"@{BOT_NAME}" not in text:
            text = f"@{BOT_NAME} {text}"
        self._line(conv, userid, "text", text)
        rid = secrets.token_hex(8)
        self.state.response_urls[rid] = {"conversation": conv, "created": self.clock.now(),
                                         "used": False}
        msg = {"msgid": f"aibot{next(self._msgids)}", "aibotid": "aibSANDBOX",
               "chattype": "group" if chat_id else "single", "from": {"userid": userid},
               "response_url": f"{self.base_url}/aibot/response/{rid}", "msgtype": "text",
               "text": {"content": text}}
        if chat_id:
            msg["chatid"] = chat_id
        return await self.deliver("aibot", json.dumps(msg, ensure_ascii=False))

    def kf_customer_wrote(self, external_userid: str) -> None:
        """The customer wrote: WeCom allows 5 messages to them within the next 48 hours."""
        self.state.kf_allowance[external_userid] = {"last": self.clock.now(), "sent": 0}

    async def customer_kf(self, external_userid: str, text: str) -> dict[str, Any]:
        """A WeChat customer writes to 微信客服: queue the message, ring the app callback."""
        self._line(f"kf:{external_userid}", external_userid, "text", text)
        self.kf_customer_wrote(external_userid)
        self.state.kf_msgs.append({
            "msgid": f"kf{next(self._msgids)}", "open_kfid": OPEN_KFID,
            "external_userid": external_userid, "send_time": self._now_s(), "origin": 3,
            "msgtype": "text", "text": {"content": text}})
        token = secrets.token_hex(8)
        extra = (f"<Token><![CDATA[{token}]]></Token>"
                 f"<OpenKfId><![CDATA[{OPEN_KFID}]]></OpenKfId>")
        return await self.member_event("sys", "kf_msg_or_event", extra)
