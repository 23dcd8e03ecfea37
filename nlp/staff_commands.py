"""What technicians and dispatchers say in chat: 接单 / 拒单, 出发 / 到达 / 完工 (with labour time
and parts), 为什么派给他, 指派 GD… 李师傅. Pure text understanding, no database.

Every command works as a text message too, because cards are invisible on the WeChat plug-in
(微工作台) [PROTOCOL.md §4]::

    parse_staff_command("完工 工时1.5小时 配件：压缩机电容1个35元，冷媒2瓶每瓶60元")
    → StaffCommand(kind="done", labour_minutes=90,
                   parts=(PartUsed("压缩机电容", 1, 35), PartUsed("冷媒", 2, 60)))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from nlp.numerals import CN_CHARS, parse_number

TICKET_NO: Final = re.compile(r"GD\d{8}-\d{4}", re.IGNORECASE)
#: A number is tried only where its run of digits / Chinese numerals begins and is read
#: possessively: a search used to start again at every digit of a long run (quadratic).
_NUM: Final = rf"(?:(?<!\d)\d++(?:\.\d++)?+|(?<![{CN_CHARS}])[{CN_CHARS}]++)"

# (kind, pattern at the start of the message, after an optional ticket number)
_LEADS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(rf"^(?:{words})(?:了|啦|咯)?(?=$|[\s，,。.!！:：]|GD|\d|工时|配件|用时)",
                      re.IGNORECASE))
    for kind, words in (
        ("accept", r"接单|我接|接了|抢单|我来"),
        ("decline", r"拒单|不接|拒接|接不了"),
        ("depart", r"出发|已出发|我出发|在路上|马上出发"),
        ("arrive", r"到达|已到达|到了|我到了|已到场|到现场"),
        ("done", r"完工|已完工|修好|已修好|完成|已完成|搞定"),
        ("assign", r"指派|派给"),  # (re-assigning an accepted job is not supported)
    ))
_WHY: Final = re.compile(r"(?:为什么|为啥|为何|凭什么)(?:派|分)给|派单(?:原因|理由|依据)|为什么是(?:他|她)")
# (the old optional lead "(?:工时|用时|干了|花了|耗时)?\s*" changed no group and let a match start
# at every blank of a run; the three \s* around 个半/个 now cannot share one run of blanks)
_LABOUR: Final = re.compile(
    rf"(?P<n>{_NUM}|半)\s*+(?:(?P<half>个半)\s*+)?(?:个\s*+)?"
    r"(?P<unit>小时|钟头|h(?![a-z])|分钟|分(?!钟)|min(?![a-z]))(?P<after>半)?", re.IGNORECASE)
_NO_PARTS: Final = re.compile(r"(?:无|没有|没用|不需要|未用|没换)(?:更换)?(?:配件|零件|材料)|配件[:：]?\s*(?:无|没有)")
_PARTS_HEAD: Final = re.compile(r"(?:配件|零件|材料|更换了?|换了)\s*+(?:[:：]\s*+)?")
_UNIT: Final = r"(?:个|只|件|根|瓶|套|米|条|片|支|台|罐|盒|卷|把)"
#: without a lead word a match starts only where a run of blanks (or the number) begins
_COST: Final = re.compile(
    rf"(?:每{_UNIT}|单价|共|合计|(?<!\s))\s*+(?<!\d)(\d++(?:\.\d++)?+)\s*+(?:元|块钱|块)"
)
_QTY: Final = re.compile(rf"[x×*]\s*({_NUM})|({_NUM})\s*{_UNIT}")


@dataclass(frozen=True)
class PartUsed:
    name: str
    qty: Decimal
    unit_cost: Decimal | None  # what the technician paid per unit, when said


@dataclass(frozen=True)
class StaffCommand:
    kind: str  # accept | decline | depart | arrive | done | assign | why | details
    ticket: str | None = None  # a GD number named in the text, upper-case
    name: str | None = None  # assign: the technician named
    labour_minutes: int | None = None
    parts: tuple[PartUsed, ...] = ()
    no_parts: bool = False

    @property
    def has_details(self) -> bool:
        """Enough to close the job: labour time, and either parts or "no parts"."""
        return self.labour_minutes is not None and (bool(self.parts) or self.no_parts)


def _ticket(text: str) -> str | None:
    m = TICKET_NO.search(text)
    return m.group(0).upper() if m else None


def labour_minutes(text: str) -> int | None:
    """'工时1.5小时' → 90, '一个半小时' / '一小时半' / '1小时30分钟' → 90, '半小时' → 30,
    '40分钟' → 40: every hours and minutes part of the message, added up."""
    total = Decimal(0)
    for m in _LABOUR.finditer(text):
        n = Decimal("0.5") if m.group("n") == "半" else parse_number(m.group("n"))
        if n is None:
            continue
        if m.group("half") or m.group("after"):
            n += Decimal("0.5")
        minutes_unit = m.group("unit").lower() in ("分钟", "分", "min")
        total += n if minutes_unit else n * 60
    return int(total.to_integral_value()) if total > 0 else None


def parts_used(text: str) -> tuple[PartUsed, ...]:
    """The parts after 配件/更换: 'name [x qty | qty unit] [每个 cost元]', separated by ，、；."""
    head = _PARTS_HEAD.search(text)
    if head is None or _NO_PARTS.search(text):
        return ()
    out: list[PartUsed] = []
    for chunk in re.split(r"[，,；;、。]", text[head.end():]):
        chunk = chunk.strip()
        if not chunk or (_LABOUR.search(chunk) and not _COST.search(chunk)):
            continue
        cost_m, qty_m = _COST.search(chunk), _QTY.search(chunk)
        cut = min(m.start() for m in (cost_m, qty_m) if m is not None) if (cost_m or qty_m) \
            else len(chunk)
        name = chunk[:cut].strip(" :：-")
        if not name:
            continue
        qty = parse_number(qty_m.group(1) or qty_m.group(2)) if qty_m else Decimal(1)
        if qty is None or qty <= 0:
            continue
        cost = Decimal(cost_m.group(1)) if cost_m else None
        if cost is not None and re.match(r"\s*(?:共|合计)", cost_m.group(0)):  # a total
            cost = cost / qty
        out.append(PartUsed(name, qty, cost))
    return tuple(out)


def parse_staff_command(text: str) -> StaffCommand | None:
    """The command in a technician's or dispatcher's message, or None if it holds none."""
    text = " ".join(text.split())
    if not text:
        return None
    ticket = _ticket(text)
    if _WHY.search(text):
        return StaffCommand("why", ticket)
    rest = TICKET_NO.sub("", text, count=1).strip() if text.upper().startswith("GD") else text
    for kind, lead in _LEADS:
        m = lead.match(rest)
        if m is None:
            continue
        if kind == "assign":
            tail = TICKET_NO.sub("", rest[m.end():]).strip(" ：:，,给")
            if not ticket or not tail:
                return None
            return StaffCommand("assign", ticket, name=tail.split()[0])
        if kind == "done":
            return StaffCommand("done", ticket, labour_minutes=labour_minutes(rest),
                                parts=parts_used(rest), no_parts=bool(_NO_PARTS.search(rest)))
        return StaffCommand(kind, ticket)
    minutes, parts, none = labour_minutes(text), parts_used(text), bool(_NO_PARTS.search(text))
    if minutes is not None or parts or none:
        return StaffCommand("details", ticket, labour_minutes=minutes, parts=parts, no_parts=none)
    return None
