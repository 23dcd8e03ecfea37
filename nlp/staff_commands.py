"""What technicians and dispatchers say in chat: 接单 / 拒单, 出发 / 到达 / 完工 (with labour time
and parts), 为什么派给他, 指派 GD… 李师傅, and the part prices the bot asked for. Pure text
understanding, no database.

Every command works as a text message too, because cards are invisible on the WeChat plug-in
(微工作台) [PROTOCOL.md §4]::

    parse_staff_command("完工 工时1.5小时 配件：压缩机电容1个35元，冷媒2瓶每瓶60元")
    → StaffCommand(kind="done", labour_minutes=90,
                   parts=(PartUsed("压缩机电容", 1, 35), PartUsed("冷媒", 2, 60)))

Parts are read as a list — separated by 、，,；, blanks or 和 — of a name with an optional
quantity (``2个``, ``×2``, ``x2``, ``两根``, ``2个水泵``) and an optional price before or after
it (``35元``, ``每个25元``, ``35元/个``, ``单价35``, ``35元的电容2个``, ``共50元`` — a total, divided
by the quantity). Every part named is kept, priced or not: settlement asks for what is missing.
A message that is only prices (``水泵 180元``, ``180元``) is the answer to that question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from nlp.numerals import CN_CHARS, parse_number
from nlp.phones import MOBILE
from nlp.work_details import WorkDetails, strip_details, work_details

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
_NO_PARTS: Final = re.compile(
    r"(?:无|没有?|未|不需要|无需|不用)\s*+(?:用到?|使用|更换|换|用上)?了?\s*+(?:任何)?(?:配件|零件|材料)"
    r"|(?:配件|零件|材料)\s*+[:：]?\s*+(?:无|没有|没用)(?![\u4e00-\u9fff])")
_PARTS_HEAD: Final = re.compile(r"(?:配件|零件|材料|更换了?|换了)\s*+(?:[:：]\s*+)?")
_UNIT: Final = r"(?:个|只|件|根|瓶|套|米|条|片|支|台|罐|盒|卷|把|包|节|组|副|对|颗|粒|桶|袋|张|块)"
_SEPS: Final = "，,、；;。！!？?\n"
#: 块 is money ("35块"), unless another amount follows: then it counts ("主板1块200元")
_MONEY: Final = rf"(?:元|块钱|圆|块(?!\s*+{_NUM}\s*+(?:元|块)))"
_AMOUNT: Final = rf"(?:[¥￥]\s*+(?P<{{0}}1>{_NUM})(?:\s*+{_MONEY})?|(?P<{{0}}2>{_NUM})\s*+{_MONEY})"
#: one token of a parts list; tried in this order at every position, a name is what is left
_PART_TOKEN: Final = re.compile("|".join((
    rf"(?P<sep>[{_SEPS}/／]++|以及|和|及)",
    rf"(?P<total>(?:一共|总共|总计|合计|共计|总价|共)\s*+(?:是\s*+)?{_AMOUNT.format('t')})",
    rf"(?P<eachq>各\s*+(?P<eqn>{_NUM})\s*+{_UNIT})",
    rf"(?P<each>(?:(?P<all>各)|每\s*+{_UNIT}?|单价|单个)\s*+(?:是\s*+)?"
    rf"(?:{_AMOUNT.format('e')}|(?P<e3>{_NUM})))",
    rf"(?P<price>{_AMOUNT.format('p')}"
    rf"(?:\s*+(?:[/／每]\s*+{_UNIT}|一{_UNIT}(?=$|[\s{_SEPS}])))?(?:\s*+的)?)",
    rf"(?P<qty>(?<![A-Za-z])[x×X*]\s*+(?P<xn>{_NUM})(?:\s*+{_UNIT})?|(?P<qn>{_NUM})\s*+{_UNIT})",
    rf"(?P<bare>{_NUM})(?=$|[\s{_SEPS}/／和及])",
    r"(?P<blank>\s++)",
    r"(?P<ch>.)",
)))
_FILLER_HEAD: Final = re.compile(
    r"^(?:还有|另外|另|加上|配件|零件|材料|更换了?|换了|换上了?|用了|使用了?|新换了?|装了|加了)+")
_FILLER_TAIL: Final = re.compile(r"(?:一共|总共|共计|共|各|的|了|每|单价|是)+$")
_NOT_A_PART: Final = re.compile(
    r"^(?:工时|用时|耗时|时间|费用|价格|单价|合计|总计|配件|零件|材料|无|没有|其他|其它|等|和|约|大概)$")
#: words of a sentence, not of a part's name
_SENTENCE: Final = re.compile(r"客户|已经|请|正常|问题|修好|试机|完成|完工|谢谢|师傅|明天|今天|吗|吧|呢|"
                              r"多少|怎么|什么|可以|还没|不知道|记不|忘了|稍后|回头")
MAX_PART_NAME = 20
#: a unit price from a total is kept to 4 places (3 for 共10元 → 3.3333); the books round lines
COST_QUANTUM: Final = Decimal("0.0001")


@dataclass(frozen=True)
class PartUsed:
    name: str  # "" only in an answer that is a bare price ("180元")
    qty: Decimal
    unit_cost: Decimal | None  # what the technician paid per unit, when said
    #: the price was said as a total for the quantity ("2个共10元"), unit_cost = total / qty
    total: Decimal | None = field(default=None, compare=False)
    qty_said: bool = field(default=False, compare=False)  # the quantity was said, not assumed


@dataclass(frozen=True)
class StaffCommand:
    kind: str  # accept | decline | depart | arrive | done | assign | why | details
    ticket: str | None = None  # a GD number named in the text, upper-case
    name: str | None = None  # assign: the technician named
    labour_minutes: int | None = None
    parts: tuple[PartUsed, ...] = ()
    no_parts: bool = False
    #: floor, pipe length, 高空作业, note said with it (nlp/work_details.py)
    details: WorkDetails = field(default_factory=WorkDetails)

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


def _number(m: re.Match[str], *groups: str) -> Decimal | None:
    return next((parse_number(m.group(g)) for g in groups if m.group(g)), None)


def _tokens(text: str, bare_price: bool) -> list[tuple[str, Any]]:
    """The parts list as tokens: (name, str), (qty | unit | total | each_qty | each_unit |
    bare, Decimal), (hard | blank, None). A number glued to a name ("轴承6203") is part of the
    name, except as the price of an answer (``bare_price``: "水泵180")."""
    out: list[tuple[str, Any]] = []
    for m in _PART_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "ch" or (kind == "bare" and not bare_price and out and out[-1][0] == "name"):
            if out and out[-1][0] == "name":
                out[-1] = ("name", out[-1][1] + m.group())
            else:
                out.append(("name", m.group()))
            continue
        value = None
        if kind == "total":
            kind, value = "total", _number(m, "t1", "t2")
        elif kind == "eachq":
            value = _number(m, "eqn")
        elif kind == "each":
            kind, value = ("each_unit" if m.group("all") else "unit"), _number(m, "e1", "e2", "e3")
        elif kind == "price":  # "35元的电容": the price of the part that follows
            kind = "unit_before" if m.group().endswith("的") else "unit"
            value = _number(m, "p1", "p2")
        elif kind == "qty":
            value = _number(m, "xn", "qn")
        elif kind == "bare":
            value = parse_number(m.group("bare"))
        elif kind == "sep":
            kind = "hard"
        if kind in ("hard", "blank") or value is not None:
            out.append((kind, value))
    return out


@dataclass
class _Part:
    name: str = ""
    qty: Decimal | None = None
    unit: Decimal | None = None
    total: Decimal | None = None
    blank: bool = False  # a blank followed the name

    @property
    def priced(self) -> bool:
        return self.unit is not None or self.total is not None

    @property
    def empty(self) -> bool:
        return not self.name and self.qty is None and not self.priced


def _is_ascii(s: str) -> bool:
    return s.isascii() and bool(s.strip())


def _group(tokens: list[tuple[str, Any]], bare_price: bool) -> list[_Part]:
    """Tokens into parts: a name starts a new part once the current one has its own name and
    something after it; a quantity or price before any name belongs to the name that follows."""
    parts: list[_Part] = []
    cur = _Part()

    def close() -> _Part:
        if not cur.empty:
            parts.append(cur)
        return _Part()

    for kind, value in tokens:
        if kind == "hard":
            cur = close()
        elif kind == "blank":
            cur.blank = bool(cur.name)
        elif kind == "name":
            if cur.name and cur.blank and cur.qty is None and not cur.priced and (
                    _is_ascii(value) or _is_ascii(cur.name)):
                cur.name += " " + value  # "冷媒 R22", "R410A 冷媒"
            elif cur.name:
                cur = close()
                cur.name = value
            else:
                cur.name = value
            cur.blank = False
        elif kind == "qty":
            if cur.qty is not None and cur.name:
                cur = close()
            cur.qty = value
        elif kind in ("unit", "total", "unit_before"):
            if cur.name and (cur.priced or kind == "unit_before"):
                cur = close()
            cur.unit, cur.total = (None, value) if kind == "total" else (value, None)
        elif kind in ("each_qty", "each_unit"):  # 各1个 / 各50元: every part so far that lacks it
            for p in (*parts, cur):
                if kind == "each_qty" and p.qty is None:
                    p.qty = value
                elif kind == "each_unit" and not p.priced:
                    p.unit = value
        elif kind == "bare":  # a lone number: the price of an answer, else qty, then price
            if bare_price or (cur.qty is not None and not cur.priced):
                if cur.priced and cur.name:
                    cur = close()
                cur.unit = value
            elif cur.qty is None:
                cur.qty = value
    close()
    return parts


def _clean_name(name: str) -> str:
    name = name.strip(" :：-—_()（）[]【】\"'“”‘’")
    name = _FILLER_TAIL.sub("", _FILLER_HEAD.sub("", name)).strip(" :：-—")
    return " ".join(name.split())


def _finish(raw: list[_Part], *, nameless: bool) -> tuple[PartUsed, ...]:
    out: list[PartUsed] = []
    for p in raw:
        name = _clean_name(p.name)
        if not name and not (nameless and p.priced):
            continue
        if name and (_NOT_A_PART.match(name) or len(name) > MAX_PART_NAME
                     or _SENTENCE.search(name)):
            continue
        qty = p.qty if p.qty is not None else Decimal(1)
        if qty <= 0:
            continue
        unit = p.unit
        if p.total is not None:
            unit = p.total / qty
            if unit != unit.quantize(COST_QUANTUM):
                unit = unit.quantize(COST_QUANTUM)
            unit = unit.normalize() if unit == unit.to_integral_value() else unit
        out.append(PartUsed(name, qty, unit, total=p.total, qty_said=p.qty is not None))
    return tuple(out)


def _without_labour(text: str) -> str:
    return _LABOUR.sub("，", TICKET_NO.sub("，", text))


def parts_used(text: str, *, headless: bool = False) -> tuple[PartUsed, ...]:
    """Every part named after 配件/零件/更换/换了 (labour time and ticket numbers left out).
    ``headless``: without such a word, the parts said with a quantity or a price."""
    if _NO_PARTS.search(text):
        return ()
    head = _PARTS_HEAD.search(text)
    if head is not None:
        region = text[head.end():]
    elif headless:
        region = text
    else:
        return ()
    parts = _finish(_group(_tokens(_without_labour(region), False), False), nameless=False)
    if head is None:
        parts = tuple(p for p in parts if p.qty_said or p.unit_cost is not None)
    return parts


MAX_PRICE_ANSWER = 120


def part_prices(text: str) -> tuple[PartUsed, ...]:
    """A message that only gives prices — the answer to "配件“水泵”还没有单价": "水泵 180元",
    "水泵180，密封圈2个共10元", "180元", "180" (a nameless price: the one part asked about).
    Empty unless at least one price is said and the message has no labour time."""
    if len(text) > MAX_PRICE_ANSWER or _LABOUR.search(text) or _NO_PARTS.search(text):
        return ()
    # A mobile number is never a price: "咖啡机坏了 13900000006" is a customer's report, not
    # a part at ¥13,900,000,006 (each report from a technician's account was taken as one).
    region = MOBILE.sub(" ", TICKET_NO.sub(" ", text))
    head = _PARTS_HEAD.search(region)
    if head is not None:
        region = region[head.end():]
    parts = _finish(_group(_tokens(region, True), True), nameless=True)
    return parts if any(p.unit_cost is not None for p in parts) else ()


def _work_details(text: str) -> tuple[WorkDetails, str]:
    """The work details said and the text left for labour and parts: "铜管6米" before any
    parts list is a length to price (a parts list's "铜管3米" stays a part)."""
    head = _PARTS_HEAD.search(text)
    until = head.start() if head else len(text)
    said = work_details(text, pipe_until=until)
    return said, (text if said.empty else strip_details(text, pipe_until=until))


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
            tail = rest[m.end():]
            said, tail = _work_details(tail)
            return StaffCommand("done", ticket, labour_minutes=labour_minutes(tail),
                                parts=parts_used(tail, headless=True),
                                no_parts=bool(_NO_PARTS.search(tail)), details=said)
        return StaffCommand(kind, ticket)
    said, plain = _work_details(text)
    minutes, none = labour_minutes(plain), bool(_NO_PARTS.search(plain))
    parts = parts_used(plain, headless=minutes is not None)
    if minutes is not None or parts or none:
        return StaffCommand("details", ticket, labour_minutes=minutes, parts=parts, no_parts=none,
                            details=said)
    prices = part_prices(text)
    if prices:  # the prices the bot asked for ("水泵 180元")
        return StaffCommand("details", ticket, parts=prices)
    return None
