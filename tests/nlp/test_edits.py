"""Changes asked for in words."""

import pytest

from nlp.edits import Edit, parse_edit


@pytest.mark.parametrize("text,expected", [
    ("时间改成今天下午3点", Edit("time", "今天下午3点")),
    ("预约时间改为明天上午", Edit("time", "明天上午")),
    ("地址改为上海市静安区南京西路1686号", Edit("place", "上海市静安区南京西路1686号")),
    ("门店换成静安寺店", Edit("place", "静安寺店")),
    ("电话换成13900000000", Edit("phone", "13900000000")),
    ("手机号写错了，应该是13900000000", Edit("phone", "13900000000")),
    ("设备不对，应该是冰箱", Edit("device", "冰箱")),
    ("麻烦把时间改到周六上午。", Edit("time", "周六上午")),
    # the time without its name (a sandbox walk, 2026-12-02: all three were taken as 确认)
    ("师傅明天上午来不了的话，改到明天下午3点吧", Edit("time", "明天下午3点")),
    ("今天不方便了，能改到明天上午10点吗", Edit("time", "明天上午10点")),
    ("改到明天上午10点", Edit("time", "明天上午10点")),
    ("改约到周五下午", Edit("time", "周五下午")),
    ("能不能推迟到下午4点", Edit("time", "下午4点")),
    ("改到3号上午", Edit("time", "3号上午")),
])
def test_changes_are_read(text, expected):
    assert parse_edit(text) == expected


@pytest.mark.parametrize("text", ["咖啡机坏了", "时间", "修改", "改成", "今天下午3点能来吗",
                                  "时间改成", "改一下", "改天再说吧", "换个师傅", "改成冰箱",
                                  "明天下午3点可以吗", "我想换到别的店",
                                  "修改上午说的地址", "灯泡换上午刚买的", "改到3号店"])
def test_other_messages_are_not_changes(text):
    assert parse_edit(text) is None
