"""The daily finance exports through the API (the same rows ``finance.py`` writes to the
folder): a list, and each file as it was written."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from handlers.board import schemas as S
from handlers.board.routes import decode_cursor, encode_cursor, limit_of
from handlers.board.usecases import Refused
from models.api import FinanceExport

HANDLERS: dict[str, Any] = {}


async def list_exports(api: Any, request: web.Request, caller: Any, body: Any) -> web.Response:
    limit, after = limit_of(request), decode_cursor(request.query.get("cursor"))
    stmt = select(FinanceExport).order_by(FinanceExport.id.desc()).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(FinanceExport.id < after)
    async with api.sm() as s:
        rows = list((await s.execute(stmt)).scalars())
    page = rows[:limit]
    return web.json_response({
        "items": [S.FinanceExportOut(day=r.day, name=r.name, statements=r.statements,
                                     created_at=r.created_at).model_dump(mode="json")
                  for r in page],
        "next_cursor": encode_cursor(page[-1].id) if len(rows) > limit else None})  # type: ignore[arg-type]


async def get_export(api: Any, request: web.Request, caller: Any, body: Any) -> web.Response:
    day, name = request.match_info["day"], request.match_info["name"]
    async with api.sm() as s:
        row = (await s.execute(select(FinanceExport).where(
            FinanceExport.day == day, FinanceExport.name == name))).scalar_one_or_none()
    if row is None:
        raise Refused(404, "not-found", "No such export", f"no export {name} for {day}")
    ctype = "application/json" if name.endswith(".json") else "text/csv"
    return web.Response(text=row.content, content_type=ctype, charset="utf-8")


HANDLERS.update(listFinanceExports=list_exports, getFinanceExport=get_export)
