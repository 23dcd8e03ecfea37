"""Customer history views, the work details read from text, the QR codes, the config files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from handlers.customers.config import CustomersConfigError, load_customers
from handlers.customers.history import History
from handlers.customers.qr import QrError, matrix, qr_content, report_text, write_png
from handlers.customers.views import mask_phone, summary
from nlp.staff_commands import parse_staff_command
from nlp.work_details import WorkDetails, work_details


def test_a_phone_is_masked_for_those_who_do_not_need_it():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("021-5555-1234") == "*********1234"
    assert mask_phone(None) == "未留"


def test_the_card_summary_line():
    empty = History((), None, (), 0, 0, Decimal(0), None, 0)
    assert summary(empty) == "新客户"
    some = History(("kf",), "1", (object(),) * 3, 12, 2, Decimal("10"), 4.5, 0)  # type: ignore[arg-type]
    assert summary(some) == "3次报修·12条消息·评分4.5"


@pytest.mark.parametrize("text, want", [
    ("完工 工时2小时 12楼 铜管6米 高空作业 无配件", WorkDetails(12, Decimal("6"), True)),
    ("空调安装，住12层，管长6m", WorkDetails(12, Decimal("6"), False)),
    ("楼层：7 备注：外机在阳台外侧，需带梯子", WorkDetails(7, None, False, "外机在阳台外侧，需带梯子")),
    ("完工 工时1小时 连接管加长三米 不需要高空作业 无配件", WorkDetails(None, Decimal("3"), False)),
    ("完工 清洗2台 工时2小时 无配件", WorkDetails(units=2)),
    ("5号楼 电梯坏了", WorkDetails()),  # 5号楼 is a building, not a floor
    ("人民广场店咖啡机坏了", WorkDetails()),
])
def test_work_details_in_what_people_write(text, want):
    assert work_details(text) == want


def test_a_pipe_in_the_parts_list_stays_a_part_and_one_said_before_is_a_length():
    cmd = parse_staff_command("完工 工时2小时 铜管6米 12楼 配件 膨胀螺丝4个2元")
    assert cmd.details.pipe_m == Decimal("6") and cmd.details.floor == 12
    assert [p.name for p in cmd.parts] == ["膨胀螺丝"]  # not 铜管, not 12楼
    listed = parse_staff_command("完工 工时1小时 配件 铜管3米")
    assert [p.name for p in listed.parts] == ["铜管"] and listed.details.pipe_m is None


def test_a_qr_png_holds_the_report_text_or_the_kf_link(tmp_path):
    text = report_text("人民广场店", "咖啡机", "CM-001")
    assert text == "扫码报修：人民广场店 咖啡机（设备编号 CM-001）"
    path = write_png(text, tmp_path / "d.png", scale=4)
    img = Image.open(path).convert("L")
    grid = matrix(text)
    size = len(grid)
    assert img.size == ((size + 8) * 4, (size + 8) * 4)
    # every module of the PNG is the code's module (dark = True), read at its centre
    read = [[img.getpixel(((x + 4) * 4 + 2, (y + 4) * 4 + 2)) < 128 for x in range(size)]
            for y in range(size)]
    assert read == grid
    link = qr_content(text, "https://work.weixin.qq.com/kf/kfc123?enc_scene=AB")
    assert link.startswith("https://work.weixin.qq.com/kf/kfc123?enc_scene=AB&scene_param=%E6%89%AB")
    with pytest.raises(QrError):  # a scene_param holds 128 bytes
        qr_content(report_text("店" * 50), "https://work.weixin.qq.com/kf/x?enc_scene=A")


def test_config_errors_name_the_file_line_and_field(tmp_path: Path):
    p = tmp_path / "customers.yaml"
    p.write_text("repeat_days: 30\nfull_phone_roles: [boss]\n", encoding="utf-8")
    with pytest.raises(CustomersConfigError, match=rf"{p}:2: full_phone_roles"):
        load_customers(p, tmp_path / "none.yaml")
    s = tmp_path / "solutions.yaml"
    s.write_text("solutions:\n  - {id: a, device: 空调, title: t, steps: []}\n", encoding="utf-8")
    with pytest.raises(CustomersConfigError, match=rf"{s}:2: solutions.0.steps"):
        load_customers(tmp_path / "none.yaml", s)
    shipped = load_customers()
    assert shipped.config.device("cm-001").store == "人民广场店"
    assert shipped.solutions.for_ticket("咖啡机", "又不出热水了").id == "coffee-no-heat"
