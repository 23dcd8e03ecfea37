"""The sandbox's ``media/upload`` (WORKFLOW_APIS.md §3.1): multipart with the form field
``media``; every file must be over 5 bytes, an image at most 10 MB and JPG/PNG (40004 /
40006 otherwise); answers ``media_id`` (valid 3 days). Uploaded bytes are kept in
``sandbox.media`` so tests can look at a digest's chart; ``message/send`` of ``msgtype:
image`` shows it in the member's chat (apis.py)."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

IMAGE_MAX = 10 * 1024 * 1024


class MediaEmulator:
    clock: Any

    @property
    def media(self) -> dict[str, dict[str, Any]]:
        return self.__dict__.setdefault("_media", {})

    def add_media_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/cgi-bin/media/upload", self.media_upload)

    async def media_upload(self, request: web.Request) -> web.Response:
        code = self._check_token(request)  # type: ignore[attr-defined]
        if code:
            return web.json_response({"errcode": code, "errmsg": "token rejected"})
        kind = request.query.get("type", "")
        if kind not in ("image", "voice", "video", "file"):
            return web.json_response({"errcode": 40005, "errmsg": "invalid media type"})
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and getattr(part, "name", None) != "media":
            part = await reader.next()
        if part is None:
            return web.json_response({"errcode": 41001, "errmsg": "missing media field"})
        data = await part.read()  # type: ignore[union-attr]
        name = getattr(part, "filename", "") or ""
        if len(data) <= 5 or (kind == "image" and len(data) > IMAGE_MAX):
            return web.json_response({"errcode": 40006, "errmsg": "invalid file size"})
        if kind == "image" and not (data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8")):
            return web.json_response({"errcode": 40004, "errmsg": "invalid media file type"})
        media_id = "sbxmedia" + secrets.token_hex(12)
        self.media[media_id] = {"type": kind, "filename": name, "bytes": data,
                                "at": self.clock.now().isoformat()}
        self._record("media/upload", request, {"type": kind, "filename": name,  # type: ignore[attr-defined]
                                               "size": len(data)}, 0)
        return web.json_response({"errcode": 0, "errmsg": "", "type": kind,
                                  "media_id": media_id,
                                  "created_at": str(int(self.clock.now().timestamp()))})
