"""What technicians and dispatchers write: commands, labour time, parts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nlp.staff_commands import PartUsed, labour_minutes, parse_staff_command, parts_used

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
    assert parts_used("配件：冷媒" + "2" * 2000) == (PartUsed("冷媒" + "2" * 2000, Decimal(1), None),)
