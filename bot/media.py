"""``media/upload`` (WORKFLOW_APIS.md §3.1): multipart with the form field ``media``; the
``media_id`` it returns is valid 3 days and is what ``message/send`` of ``msgtype: image``
takes (§3.3). The client's JSON calls cannot carry a multipart body, so this one call is
made here with the client's own session and cached token."""

from __future__ import annotations

import aiohttp

from bot.client import WeComClient, WeComError, WeComTransportError, error_for


async def upload_image(client: WeComClient, data: bytes, filename: str = "chart.png") -> str:
    token = await client.token()
    form = aiohttp.FormData()
    form.add_field("media", data, filename=filename, content_type="image/png")
    try:
        async with client.session.post(f"{client.base_url}/cgi-bin/media/upload",
                                       params={"access_token": token, "type": "image"},
                                       data=form, timeout=client.timeout) as resp:
            if resp.status != 200:
                raise WeComError(None, f"HTTP {resp.status}", "media/upload")
            doc = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise WeComTransportError(None, type(exc).__name__, "media/upload") from None
    code = int(doc.get("errcode", 0) or 0)
    if code:
        raise error_for(code, str(doc.get("errmsg", "")), "media/upload")
    return str(doc["media_id"])
