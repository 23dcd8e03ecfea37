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


#: a new time without the field's name: "改到明天下午3点吧", "能改到明天上午10点吗", "改约到周五",
#: "推迟到下午"; only when what follows reads as a day or a time of day
_WHEN: Final = (r"(?:今天|明天|后天|大后天|下周|这周|本周|周末|[这下]个?(?:周|星期|礼拜)"
                r"|(?:周|星期|礼拜)[一二三四五六日天]|上午|下午|中午|晚上|傍晚|早上|今晚|明早|明晚"
                r"|\d{1,2}\s*(?:点|:|：|月|日|号(?![店楼门线机房院])))")
_RESCHEDULE: Final = re.compile(
    rf"(?:(?:改约|改期)(?:到|在|成|为)?|(?:改|推迟|推后|延后|延期|提前|挪)(?:到|在))"
    rf"\s*(?P<value>{_WHEN}.*)")
_PARTICLES: Final = " 。.!！?？~～吧吗呢啊呀哈"


class Edit(NamedTuple):
    slot: str  # time | place | phone | device
    value: str  # the words of the new value


def parse_edit(text: str) -> Edit | None:
    """The change ``text`` asks for, if it is one: a field named, then 改成/改为/换成 … a value;
    or, the field unnamed, 改到 / 推迟到 … a day or a time (the appointment)."""
    m = _CHANGE.search(text)
    if m is None:
        m = _RESCHEDULE.search(text)
        value = m.group("value").strip(_PARTICLES) if m else ""
        return Edit("time", value) if value else None
    value = m.group("value").strip(" 。.!！")
    return Edit(FIELDS[m.group("field")], value) if value else None
