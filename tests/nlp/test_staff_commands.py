"""What technicians and dispatchers write: commands, labour time, parts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nlp.staff_commands import (PartUsed, labour_minutes, parse_staff_command, part_prices,
                                parts_used)

N = "GD20261125-0001"


@pytest.mark.parametrize("text,kind,ticket", [
    ("接单", "accept", None), (f"接单 {N}", "accept", N), (f"{N.lower()} 拒单", "decline", N),
    ("抢单", "accept", None), ("出发了", "depart", None), ("已出发", "depart", None),
    ("我到了", "arrive", None), ("到达", "arrive", None), ("完工", "done", None),
    (f"为什么派给他 {N}", "why", N), ("这单为啥派给王师傅？", "why", None),
    ("派单原因", "why", None),
])
def test_commands(text, kind, ticket):
    cmd = parse_staff_command(text)
    assert cmd is not None and (cmd.kind, cmd.ticket) == (kind, ticket)


@pytest.mark.parametrize("text", [
    "3号店咖啡机坏了", "明天下午", "到了吗", "到底什么时候来", "接单员怎么还没来", "出发点是哪里",
    "", "   ",
])
def test_customer_sentences_are_not_commands(text):
    assert parse_staff_command(text) is None


def test_assign_needs_a_ticket_and_a_name():
    cmd = parse_staff_command(f"指派 {N} 李师傅")
    assert (cmd.kind, cmd.ticket, cmd.name) == ("assign", N, "李师傅")
    assert parse_staff_command("指派 李师傅") is None
    assert parse_staff_command(f"指派 {N}") is None


@pytest.mark.parametrize("text,minutes", [
    ("工时1.5小时", 90), ("用时一个半小时", 90), ("半小时", 30), ("40分钟", 40), ("2h", 120),
    ("干了两小时", 120), ("没说时间", None), ("工时1小时30分钟", 90), ("一小时半", 90),
    ("用时1个小时20分钟", 80), ("2小时15分", 135),
])
def test_labour_time(text, minutes):
    assert labour_minutes(text) == minutes


def test_parts_with_quantities_units_and_costs():
    assert parts_used("配件：压缩机电容1个35元，冷媒2瓶每瓶60元") == (
        PartUsed("压缩机电容", Decimal(1), Decimal(35)), PartUsed("冷媒", Decimal(2), Decimal(60)))
    assert parts_used("换了滤网×2 每个25元、皮带1根") == (
        PartUsed("滤网", Decimal(2), Decimal(25)), PartUsed("皮带", Decimal(1), None))
    assert parts_used("配件 滤网2个 共50元") == (PartUsed("滤网", Decimal(2), Decimal(25)),)
    assert parts_used("配件 三通阀 2个 每个12.5元") == (
        PartUsed("三通阀", Decimal(2), Decimal("12.5")),)
    assert parts_used("没有更换配件") == () and parts_used("工时1小时") == ()


def test_a_completion_report_in_one_message():
    cmd = parse_staff_command("已完工，用时一个半小时，没有更换配件")
    assert (cmd.kind, cmd.labour_minutes, cmd.parts, cmd.no_parts) == ("done", 90, (), True)
    assert cmd.has_details
    assert not parse_staff_command("完工").has_details
    assert not parse_staff_command("完工 配件 电容1个35元").has_details  # labour time missing
    details = parse_staff_command("工时40分钟 无配件")
    assert (details.kind, details.labour_minutes, details.no_parts) == ("details", 40, True)


def test_runs_of_blanks_between_the_pieces():
    # the labour / cost patterns had up to three adjacent \s* (cubic in a run of blanks)
    assert labour_minutes("用时 一 个半  小时") == 90
    assert labour_minutes("工时   2   小时  30  分钟") == 150
    assert labour_minutes("工时一" + " " * 2000 + "x") is None
    assert parts_used("配件：  电容  35元，冷媒  x  2") == (
        PartUsed("电容", Decimal(1), Decimal(35)), PartUsed("冷媒", Decimal(2), None))
    # a 2,000-digit "name" is no part's name (and reading it stays linear)
    assert parts_used("配件：冷媒" + "2" * 2000) == ()
    assert parts_used("配件：冷媒" + " " * 2000 + "2瓶") == (PartUsed("冷媒", Decimal(2), None),)


# -- parts: every part named is kept ---------------------------------------------------------

D = Decimal


def parts(text: str) -> list[tuple[str, str, str | None]]:
    """(name, qty, unit cost) of every part a 完工 message names."""
    cmd = parse_staff_command(text)
    assert cmd is not None and cmd.kind in ("done", "details"), text
    return [(p.name, f"{p.qty.normalize():f}",
             None if p.unit_cost is None else f"{p.unit_cost.normalize():f}") for p in cmd.parts]


@pytest.mark.parametrize("text,expected", [
    # the issue's own message: two parts, neither dropped
    ("完工 工时1.5小时 配件 密封圈1个 水泵1个", [("密封圈", "1", None), ("水泵", "1", None)]),
    # separators: 、 ， , ； blanks 和 及
    ("完工 工时1小时 配件：密封圈、水泵、电容", [("密封圈", "1", None), ("水泵", "1", None),
                                          ("电容", "1", None)]),
    ("完工 工时1小时 配件 密封圈2个，水泵1个,电容1个", [("密封圈", "2", None), ("水泵", "1", None),
                                              ("电容", "1", None)]),
    ("完工 工时1小时 配件 密封圈2个；水泵1个", [("密封圈", "2", None), ("水泵", "1", None)]),
    ("完工 工时1小时 配件 密封圈和水泵", [("密封圈", "1", None), ("水泵", "1", None)]),
    ("完工 工时1小时 配件 密封圈 水泵 电容", [("密封圈", "1", None), ("水泵", "1", None),
                                        ("电容", "1", None)]),
    ("完工 工时1小时 配件 水泵1个，还有密封圈2个", [("水泵", "1", None), ("密封圈", "2", None)]),
    # quantities: 个/只/套/米/台/件/根/卷/瓶, ×2, x2, *2, before the name, in Chinese numerals
    ("完工 工时1小时 配件 灯泡2只 工具1套 铜管3米 压缩机1台 滤芯2件 皮带1根 胶带1卷 冷媒2瓶",
     [("灯泡", "2", None), ("工具", "1", None), ("铜管", "3", None), ("压缩机", "1", None),
      ("滤芯", "2", None), ("皮带", "1", None), ("胶带", "1", None), ("冷媒", "2", None)]),
    ("完工 工时1小时 配件 电容×2 滤网x3 螺丝*4", [("电容", "2", None), ("滤网", "3", None),
                                           ("螺丝", "4", None)]),
    ("完工 工时1小时 配件 2个水泵 1.5米铜管", [("水泵", "2", None), ("铜管", "1.5", None)]),
    ("完工 工时1小时 配件 两根皮带，三个密封圈", [("皮带", "2", None), ("密封圈", "3", None)]),
    ("完工 工时1小时 配件 三通阀 2 个", [("三通阀", "2", None)]),
    ("完工 工时1小时 配件 密封圈和水泵各1个", [("密封圈", "1", None), ("水泵", "1", None)]),
    # prices after the part
    ("完工 工时1小时 配件 压缩机电容1个35元", [("压缩机电容", "1", "35")]),
    ("完工 工时1小时 配件 水泵1个 180元", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 水泵 180元", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 电容35元/个×2", [("电容", "2", "35")]),
    ("完工 工时1小时 配件 电容2个 35元一个", [("电容", "2", "35")]),
    ("完工 工时1小时 配件 冷媒2瓶每瓶60元", [("冷媒", "2", "60")]),
    ("完工 工时1小时 配件 三通阀 2个 每个12.5元", [("三通阀", "2", "12.5")]),
    ("完工 工时1小时 配件 水泵单价180元", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 水泵¥180", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 水泵1个180块", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 水泵1个一百八十元", [("水泵", "1", "180")]),
    ("完工 工时1小时 配件 主板1块200元", [("主板", "1", "200")]),
    ("完工 工时1小时 配件 电容1个35", [("电容", "1", "35")]),
    # prices before the part
    ("完工 工时1小时 配件 35元的电容2个", [("电容", "2", "35")]),
    ("完工 工时1小时 配件 水泵1个180元 35元的电容2个", [("水泵", "1", "180"), ("电容", "2", "35")]),
    ("完工 工时1小时 配件 水泵1个 35元的电容2个", [("水泵", "1", None), ("电容", "2", "35")]),
    # a total for the quantity
    ("完工 工时1小时 配件 密封圈2个共10元", [("密封圈", "2", "5")]),
    ("完工 工时1小时 配件 滤网2个 一共50元", [("滤网", "2", "25")]),
    ("完工 工时1小时 配件 密封圈3个合计10元", [("密封圈", "3", "3.3333")]),
    ("完工 工时1小时 配件 密封圈和水泵各1个，各50元", [("密封圈", "1", "50"), ("水泵", "1", "50")]),
    # some priced, some not: every one is kept
    ("完工 工时1.5小时 配件 密封圈2个每个5元 水泵1个", [("密封圈", "2", "5"), ("水泵", "1", None)]),
    ("完工 工时2小时 更换压缩机1台 1200元，冷媒R410A 2瓶 每瓶80元",
     [("压缩机", "1", "1200"), ("冷媒R410A", "2", "80")]),
    ("完工 工时1小时 配件 冷媒 R22 1瓶 60元", [("冷媒 R22", "1", "60")]),
    ("完工 工时1小时 配件 轴承6203 2个", [("轴承6203", "2", None)]),
    ("完工 工时1小时 配件：换了水泵1个180元 客户说还有异响", [("水泵", "1", "180")]),
    # parts before the labour time; without the word 配件 (said with a quantity or price)
    ("完工 配件 密封圈1个 水泵1个 工时1小时", [("密封圈", "1", None), ("水泵", "1", None)]),
    ("完工 工时1小时 水泵1个180元 密封圈2个", [("水泵", "1", "180"), ("密封圈", "2", None)]),
    ("工时1.5小时 配件 压缩机电容1个35元", [("压缩机电容", "1", "35")]),
    ("工时1小时 水泵1个 180元", [("水泵", "1", "180")]),
    (f"完工 {N} 工时1小时 配件 水泵1个", [("水泵", "1", None)]),
])
def test_every_part_named_is_recorded(text, expected):
    assert parts(text) == expected


@pytest.mark.parametrize("text", [
    "完工 工时1小时 无配件", "完工 工时1小时 没用配件", "完工 工时1小时 没有用配件",
    "完工 工时1小时 没有更换配件", "完工 工时1小时 配件：无", "完工 工时1小时 配件无",
    "完工 工时1小时 未更换零件", "完工，用时40分钟，不需要配件",
])
def test_no_parts(text):
    cmd = parse_staff_command(text)
    assert cmd.no_parts and cmd.parts == () and cmd.has_details


def test_words_that_are_not_parts_are_left_out():
    assert parts("完工 工时1小时 客户满意") == []  # no 配件, no quantity, no price
    assert parts("完工 工时1小时 配件 水泵1个 试机正常") == [("水泵", "1", None)]
    cmd = parse_staff_command("完工 工时1小时 配件 水泵1个")
    assert cmd.parts[0].qty_said and not parse_staff_command(
        "完工 工时1小时 配件 水泵").parts[0].qty_said


# -- the prices the bot asked for ------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("水泵 180元", [("水泵", "1", "180")]),
    ("水泵180元", [("水泵", "1", "180")]),
    ("水泵180", [("水泵", "1", "180")]),
    ("水泵 180", [("水泵", "1", "180")]),
    ("水泵单价180", [("水泵", "1", "180")]),
    ("180元", [("", "1", "180")]),  # nameless: the one part asked about
    ("180", [("", "1", "180")]),
    ("¥180", [("", "1", "180")]),
    ("一百八十块", [("", "1", "180")]),
    ("水泵180元，密封圈5元", [("水泵", "1", "180"), ("密封圈", "1", "5")]),
    ("水泵 180元 密封圈 2个 共10元", [("水泵", "1", "180"), ("密封圈", "2", "5")]),
    ("水泵180、密封圈5", [("水泵", "1", "180"), ("密封圈", "1", "5")]),
    ("配件 水泵1个180元", [("水泵", "1", "180")]),
    (f"{N} 水泵 180元", [("水泵", "1", "180")]),
])
def test_a_price_answer(text, expected):
    cmd = parse_staff_command(text)
    assert cmd.kind == "details" and cmd.labour_minutes is None and not cmd.no_parts
    assert parts(text) == expected
    assert cmd.ticket == (N if N in text else None)


@pytest.mark.parametrize("text", [
    "好的", "我明天再报", "水泵", "这个要多少钱 200元可以吗", "水泵不记得多少钱了", "2个",
    # a report with a phone number (bench/e2e.py's, as customers write them) names no price
    "上海市浦东新区张江路7号 咖啡机坏了 13900000006 明天上午", "水泵坏了 139 1234 5678",
])
def test_what_is_not_a_price_answer(text):
    assert part_prices(text) == ()


def test_a_customers_report_with_a_phone_number_is_no_staff_command():
    assert parse_staff_command("3号店咖啡机坏了，今天能来修吗 13812345678") is None
    assert parse_staff_command("上海市浦东新区张江路7号 咖啡机坏了 13900000006 明天上午") is None
