"""Administrative-code coverage: who serves a job's region (shared by the loop and the index)."""

from __future__ import annotations

from typing import Iterable


def normalise_region(code: str | int) -> str:
    """A 6-digit administrative code as a string (310115); anything else is an error."""
    text = str(code).strip()
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"region {code!r} is not a 6-digit administrative code")
    return text


def covering_codes(region: str) -> tuple[str, ...]:
    """Codes whose holder serves ``region``: itself, its city (xxxx00) and province (xx0000).

    A technician serving 310100 (上海市市辖区) serves 310115; one serving 310000 serves all of
    Shanghai; one serving only 310115 does not serve a job filed at city level (310100).
    """
    out = [region]
    for code in (region[:4] + "00", region[:2] + "0000"):
        if code not in out:
            out.append(code)
    return tuple(out)


def serves(served: Iterable[str], region: str) -> bool:
    codes = set(served)
    return any(c in codes for c in covering_codes(region))
