"""The pure parts of intake: config validation, card building, scores, masking."""

from __future__ import annotations

import pytest

from bot.cards import CardError, button_card, parse_key
from handlers.intake.views import intake_confirm_card
from handlers.intake import texts
from handlers.intake.helpers import mask_phones
from handlers.understanding import reply_word
from handlers.intake.config import IntakeConfigError, load_intake_config
from nlp.rating import parse_score


def test_the_shipped_config_loads():
    cfg = load_intake_config()
    assert cfg.slots_for("repair") == ("place", "phone", "device", "time")
    assert cfg.slots_for("consult") == () and "报修" in cfg.keywords


def test_config_errors_name_file_line_and_field(tmp_path):
    p = tmp_path / "intake.yaml"
    p.write_text("window_minutes: 10\nslots:\n  repair: [place, fone]\nduplicate_scor: 80\n",
                 encoding="utf-8")
    with pytest.raises(IntakeConfigError) as info:
        load_intake_config(p)
    msg = str(info.value)
    assert f"{p}:3: slots.repair.1:" in msg
    assert f"{p}:4: duplicate_scor: Extra inputs are not permitted" in msg
    p.write_text("window_minutes: [\n", encoding="utf-8")
    with pytest.raises(IntakeConfigError, match=r"intake.yaml:2: not valid YAML"):
        load_intake_config(p)
    p.write_text("slots:\n  bogus: []\n", encoding="utf-8")
    with pytest.raises(IntakeConfigError, match=r":2: slots.bogus: Input should be 'repair'"):
        load_intake_config(p)
    p.write_text("window_minutes: 10\nrepeat_days: 2026-02-30\n", encoding="utf-8")
    with pytest.raises(IntakeConfigError, match=r"intake.yaml:2: not valid YAML \(day is out of range"):
        load_intake_config(p)
    # a key given twice: the last one counts, and is the line named
    p.write_text("window_minutes: 10\nwindow_minutes: 0\n", encoding="utf-8")
    with pytest.raises(IntakeConfigError, match=r"intake.yaml:2: window_minutes: Input should be"):
        load_intake_config(p)


def test_reply_words_must_be_the_whole_message():
    cfg = load_intake_config()
    assert reply_word("确认！", cfg) == "confirm" and reply_word(" OK ", cfg) == "confirm"
    assert reply_word("修改", cfg) == "edit" and reply_word("算了。", cfg) == "cancel"
    assert reply_word("确认一下空调坏没坏", cfg) is None


def test_confirmation_card_has_typed_unique_keys_and_a_valid_task_id():
    card = intake_confirm_card(draft_id=42, revision=3, title="请确认报修工单", desc="d",
                               rows=[("设备", "咖啡机"), ("描述", "很长" * 40)],
                               labels=texts.CARD_LABELS)
    assert card["task_id"] == "intake-d42-r3"
    assert [b["key"] for b in card["button_list"]] == [
        "intake:confirm:42", "intake:edit:42", "intake:cancel:42"]
    assert len(card["horizontal_content_list"][1]["value"]) == 26
    assert parse_key("confirm:42", ("confirm",)) == ("confirm", 42)
    assert parse_key("confirm:x", ("confirm",)) is None
    with pytest.raises(CardError):
        button_card(task_id="有中文", title="t", desc="", rows=[], buttons=[("a", "k", 1)])
    with pytest.raises(CardError):
        button_card(task_id="t", title="t", desc="", rows=[],
                    buttons=[("a", f"k{i}", 1) for i in range(7)])
    with pytest.raises(CardError):
        button_card(task_id="t", title="t", desc="", rows=[], buttons=[("a", "k", 1)] * 2)


@pytest.mark.parametrize("text,score", [
    ("5分", 5), ("给4分吧", 4), ("三星", 3), ("⭐⭐", 2), ("非常满意", 5), ("满意", 4),
    ("不满意", 2), ("差评", 1), ("1分，太差了", 1), ("一般般", 3), ("空调坏了", None),
    ("10分", None)])
def test_scores_from_text(text, score):
    assert parse_score(text) == score


def test_phones_are_masked():
    assert mask_phones("电话 13812345678，备用13900001111") == "电话 138****5678，备用139****1111"
    assert mask_phones("订单 202611231234567") == "订单 202611231234567"
