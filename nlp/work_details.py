"""Work details that price, in what a technician (or a customer) writes: the floor (12楼 / 12层 /
楼层12), the pipe length (铜管6米 / 管长6m / 连接管加长3米), 高空作业 (or 外墙 / 吊装), and a
special note (备注：…). Pure text understanding, no database.

    work_details("完工 工时2小时 12楼 铜管6米 高空作业 备注：外机装在阳台外侧")
    → WorkDetails(floor=12, pipe_m=Decimal("6"), high_work=True, notes="外机装在阳台外侧")

``strip_details`` removes what was read, so that the parts list does not take "铜管6米" for a
part of 6 metres without a price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from nlp.numerals import CN_CHARS, parse_number

_NUM: Final = rf"(?:(?<![\d.])\d{{1,4}}(?:\.\d+)?|(?<![{CN_CHARS}])[{CN_CHARS}]{{1,4}})"
_FLOOR: Final = re.compile(
    rf"(?:楼层|层数|所在楼层)\s*[:：]?\s*(?P<a>{_NUM})\s*(?:楼|层|F)?"
    rf"|(?:住|在|位于)?\s*(?P<b>{_NUM})\s*(?:楼|层|F)(?![梯道顶板面])", re.IGNORECASE)
_PIPE: Final = re.compile(
    rf"(?:铜管|管长|管子|连接管|配管|空调管)\s*(?:加长|长度|长)?\s*[:：]?\s*(?:了|共)?\s*"
    rf"(?P<n>{_NUM})\s*(?:米|m(?![a-z])|M(?![a-zA-Z]))", re.IGNORECASE)
_UNITS: Final = re.compile(rf"(?:清洗了?|洗了?|安装了?|装了?|维修了?|修了?|保养了?|一共|总共|共)\s*(?P<n>{_NUM})\s*台")
_HIGH: Final = re.compile(r"(?<![无不没免])(?:需要?|要|有)?(?:高空作业|高空|外墙作业|外墙|吊装|吊绳)")
_NO_HIGH: Final = re.compile(r"(?:无需|不需要?|不用|没有|无)\s*(?:高空作业|高空|外墙|吊装)")
_NOTES: Final = re.compile(r"(?:备注|特殊说明|特殊需求|注意事项|说明)\s*[:：]\s*(?P<t>[^。；;\n]{1,80})")
MAX_FLOOR: Final = 200
HIGH_WORK: Final = "高空作业"  # the flag price books test (flags_any)


@dataclass(frozen=True)
class WorkDetails:
    floor: int | None = None
    pipe_m: Decimal | None = None
    high_work: bool = False
    notes: str = ""
    units: int | None = None  # devices serviced (清洗2台)

    @property
    def empty(self) -> bool:
        return (self.floor is None and self.pipe_m is None and not self.high_work
                and not self.notes and self.units is None)

    def as_data(self) -> dict[str, Any]:
        """JSON-ready, only what was said: {"floor": 12, "pipe_m": "6", "flags": ["高空作业"],
        "notes": "…"}."""
        out: dict[str, Any] = {}
        if self.floor is not None:
            out["floor"] = self.floor
        if self.pipe_m is not None:
            out["pipe_m"] = format(self.pipe_m.normalize(), "f")
        if self.high_work:
            out["flags"] = [HIGH_WORK]
        if self.notes:
            out["notes"] = self.notes
        if self.units is not None:
            out["units"] = self.units
        return out

    def merged(self, later: "WorkDetails") -> "WorkDetails":
        """These details with what ``later`` said on top."""
        return WorkDetails(later.floor if later.floor is not None else self.floor,
                           later.pipe_m if later.pipe_m is not None else self.pipe_m,
                           self.high_work or later.high_work, later.notes or self.notes,
                           later.units if later.units is not None else self.units)


def _floor(text: str) -> int | None:
    for m in _FLOOR.finditer(text):
        n = parse_number(m.group("a") or m.group("b"))
        if n is not None and n == n.to_integral_value() and 1 <= n <= MAX_FLOOR:
            return int(n)
    return None


def work_details(text: str, *, pipe_until: int | None = None) -> WorkDetails:
    """The floor, pipe length, 高空作业 and note said in ``text`` (empty when none).
    ``pipe_until``: a pipe length is read only before this index (in a parts list, "铜管3米"
    is a part)."""
    text = " ".join((text or "").split()) if pipe_until is None else (text or "")
    notes_m = _NOTES.search(text)
    notes = notes_m.group("t").strip(" ，,") if notes_m else ""
    pipe = None
    m = _PIPE.search(text, 0, len(text) if pipe_until is None else pipe_until)
    if m is not None and (notes_m is None or not notes_m.start() <= m.start() < notes_m.end()):
        n = parse_number(m.group("n"))
        if n is not None and 0 < n <= 100:
            pipe = n
    body = text[:notes_m.start()] + " " + text[notes_m.end():] if notes_m else text
    high = bool(_HIGH.search(_NO_HIGH.sub(" ", body)))
    units = None
    u = _UNITS.search(text, 0, len(text) if pipe_until is None else pipe_until)
    if u is not None:
        n = parse_number(u.group("n"))
        if n is not None and n == n.to_integral_value() and 1 <= n <= 1000:
            units = int(n)
    return WorkDetails(_floor(_PIPE.sub(" ", body)), pipe, high, notes, units)


def strip_details(text: str, *, pipe_until: int | None = None) -> str:
    """``text`` without the note, the pipe length (before ``pipe_until``), the floor and
    高空作业 (what is left is read for labour time and parts)."""
    until = len(text) if pipe_until is None else pipe_until
    head = text[:until]
    for rx in (_PIPE, _UNITS):
        head = rx.sub(lambda m: "，" + " " * (len(m.group()) - 1), head)  # keeps the indexes
    text = head + text[until:]
    for rx in (_NOTES, _NO_HIGH, _FLOOR, _HIGH):
        text = rx.sub("，", text)
    return text
