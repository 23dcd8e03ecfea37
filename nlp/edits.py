"""A change someone asks for in words: "时间改成今天下午3点", "地址改为静安寺店", "电话换成
13900000000", "设备写错了，应该是冰箱". Which field, and the words of its new value; the value
itself is read by the analyser like any other text (times, places, phones, devices)."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

#: field names as people say them → the slot they change
FIELDS: Final[dict[str, str]] = {
    **dict.fromkeys(("时间", "预约时间", "上门时间", "预约", "日期"), "time"),
    **dict.fromkeys(("地址", "位置", "地点", "门店", "店", "店铺"), "place"),
    **dict.fromkeys(("电话", "手机", "手机号", "号码", "联系电话", "联系方式"), "phone"),
    **dict.fromkeys(("设备", "机器"), "device"),
}
_FIELD: Final = "|".join(sorted(FIELDS, key=len, reverse=True))
_CHANGE: Final = re.compile(
    rf"(?P<field>{_FIELD})\s*(?:写错了|有误|不对|错了)?\s*[,，]?\s*"
    rf"(?:改成|改为|改到|换成|换为|更正为|更改为|应该是|应为|是)\s*[:：]?\s*(?P<value>.+)")


class Edit(NamedTuple):
    slot: str  # time | place | phone | device
    value: str  # the words of the new value


def parse_edit(text: str) -> Edit | None:
    """The change ``text`` asks for, if it is one (a field named, then 改成/改为/换成 … a value)."""
    m = _CHANGE.search(text)
    if m is None:
        return None
    value = m.group("value").strip(" 。.!！")
    return Edit(FIELDS[m.group("field")], value) if value else None
