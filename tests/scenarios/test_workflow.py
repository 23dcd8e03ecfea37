"""Workflow through the sandbox (issue 13): templates collect their own fields, every kind of
ticket reaches an owner at once, parallel branches, approvals of quotes, nodes inserted on a live
ticket, and the trail. People are the sandbox's (config/sandbox/staff.yaml): 陈店长 (store
manager of 人民广场店), 周质检 (质检部), 吴采购 (采购部), 林客服 (service), 刘总监 (director),
王经理 (manager, dispatcher, supervisor), 李师傅 (technician)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.workflow.config import WorkflowConfigError, load_workflow_config
from models.settlement import SettlementStatement
from models.tickets import Ticket, TicketEvent
from models.workflow import Approval, Quote, WorkflowNode
from tests.scenarios.test_dispatch import click, lines, say

GROUP = "wrSTORE3group"
ROBOT = "webhook:sandbox-store3-robot"




def with_config(st, tmp_path, change=None, extra: dict[str, str] | None = None) -> None:
    """The bot restarted on a copy of config/ with ``workflow.yaml`` changed by ``change`` and
    ``extra`` templates added."""
    import shutil

    from handlers.workflow.config import WorkflowConfig

    conf = tmp_path / "config"
    shutil.copytree("config", conf, ignore=shutil.ignore_patterns("sandbox", "pricebooks"))
    if change is not None:
        wf = conf / "workflow.yaml"
        wf.write_text(change(wf.read_text(encoding="utf-8")), encoding="utf-8")
    for name, text in (extra or {}).items():
        (conf / "templates" / name).write_text(text, encoding="utf-8")
    st.bot.services.add(load_workflow_config(conf), as_type=WorkflowConfig)


def wecom_rule(template_id: str, controls: str):
    return lambda text: text.replace(
        "    when: {amount_gt: 50000}          # \"超过5万元的维修项目必须经过技术总监二次确认\"\n",
        f"    when: {{amount_gt: 50000}}\n    path: wecom\n    wecom_template_id: {template_id}\n"
        f"    wecom_controls: {{{controls}}}\n")


def texts_of(st, user: str, since: int = 0) -> str:
    return "\n".join(ln.content for ln in lines(st, user)[since:] if ln.kind == "text")


def cards_of(st, user: str):
    return [ln for ln in lines(st, user) if ln.kind == "card"]


async def nodes(st, ticket_id: int) -> dict[str, str]:
    return {n.key: n.status for n in await st.rows(WorkflowNode,
                                                   WorkflowNode.ticket_id == ticket_id)}


async def group_report(st, *answers: str) -> Ticket:
    for said in answers:
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    return (await st.rows(Ticket))[-1]


async def test_a_complaint_in_a_group_reaches_the_stores_duty_manager_at_once(st):
    reported_at = st.clock.now()
    t = await group_report(st, "@工单助手 投诉：人民广场店的宫保鸡丁太咸了 13812345678",
                           "菜品质量", "确认")
    assert (t.category, t.template) == ("complaint", "catering_complaint")
    assert t.fields["custom"] == [{"key": "complaint_type", "label": "投诉类型", "value": "菜品质量"}]
    # 陈店长, duty manager of 人民广场店, has a card and a text; nobody waited (the clock did not
    # move: the test's clock measures the time to the manager's phone — 0 s, within 30 s).
    [card] = cards_of(st, "chendianzhang")
    assert [b["text"] for b in card.content["button_list"]] == ["完成", "转交"]
    told = texts_of(st, "chendianzhang")
    assert t.number in told and "店长处理" in told and "菜品质量" in told
    assert st.clock.now() - reported_at <= timedelta(seconds=30)
    assert (await st.rows(Ticket))[-1].status == "in_progress"
    assert "陈店长" in st.said(ROBOT)[-1]  # the group hears who handles it
    await st.sandbox.aibot_says("zhangsan", "@工单助手 进度", chat_id=GROUP)
    await st.settle()
    progress = st.said(f"aibot:g:{GROUP}")[-1] if st.said(f"aibot:g:{GROUP}") else ""
    assert "陈店长（店长处理）" in progress and "上门" not in progress, progress
    # 完成 → the 菜品质量 branch goes on to 客服复核 (林客服); then the ticket closes.
    answer = await say(st, "chendianzhang", f"完成 {t.number} 已致电顾客道歉并退菜")
    assert "客服复核" in answer
    assert await nodes(st, t.id) == {"intake": "done", "handle": "done",
                                     "service_review": "active", "close": "waiting"}
    assert t.number in texts_of(st, "linkefu")
    await click(st, "linkefu", cards_of(st, "linkefu")[-1], "done")
    done = (await st.rows(Ticket))[-1]
    assert done.status == "closed"
    assert "已处理完毕" in st.said(ROBOT)[-1]
    trail = await say(st, "wangjingli", f"记录 {t.number}")
    assert "店长处理[已完成]" in trail and "已致电顾客道歉并退菜" in trail
    # people by name: who acted, and whom a step went to
    assert "环节完成（陈店长）" in trail and "客服复核 林客服" in trail
    # every entry in words: how it began, and nothing left as "其他操作" or an internal name
    assert "创建（" in trail and "其他操作" not in trail and "（dispatch）" not in trail


async def test_a_product_problem_goes_to_qc_and_purchasing_in_parallel(st):
    await st.sandbox.member_says("zhangsan", "人民广场店的阳光玫瑰葡萄坏果了，好几串都发霉 13812345678")
    await st.settle()
    await st.sandbox.member_image("zhangsan", "https://example.invalid/grapes.jpg")
    await st.settle()
    for said in ("阳光玫瑰葡萄 500g", "确认"):
        await st.sandbox.member_says("zhangsan", said)
        await st.settle()
    t = (await st.rows(Ticket))[-1]
    assert t.template == "product_problem"
    assert {c["key"]: c["value"] for c in t.fields["custom"]} == {
        "problem_type": "坏果", "product": "阳光玫瑰葡萄 500g"}
    assert await nodes(st, t.id) == {"intake": "done", "qc": "active", "purchasing": "active",
                                     "close": "waiting"}
    assert t.number in texts_of(st, "zhouzhijian") and t.number in texts_of(st, "wucaigou")
    assert "坏果" in texts_of(st, "zhouzhijian")
    for who in ("zhouzhijian", "wucaigou"):  # both see the customer's photo
        assert "https://example.invalid/grapes.jpg" in texts_of(st, who)
    await say(st, "zhouzhijian", f"完成 {t.number} 批次抽检不合格")
    assert (await st.rows(Ticket))[-1].status == "in_progress"  # 采购部 has not acted yet
    await say(st, "wucaigou", f"完成 {t.number} 已通知供应商退货")
    assert (await st.rows(Ticket))[-1].status == "closed"
    assert "已处理完毕" in texts_of(st, "zhangsan")


async def accepted_repair(st, text: str) -> Ticket:
    for said in (text, "尽快", "确认"):
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    t = (await st.rows(Ticket))[-1]
    await click(st, "lishifu", cards_of(st, "lishifu")[-1], "accept")
    return t


async def test_a_62000_quote_is_rejected_revised_approved_accepted_and_billed(st):
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13812345678")
    answer = await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台62000元 工时2小时")
    assert "大额维修审批" in answer and "刘总监" in answer
    [card] = cards_of(st, "liuzongjian")
    assert [b["text"] for b in card.content["button_list"]][:2] == ["同意", "驳回:价格偏高"]
    assert "¥" in texts_of(st, "liuzongjian") and t.number in texts_of(st, "liuzongjian")
    assert "报价" not in st.said(ROBOT)[-1]  # nothing reached the customer yet
    await click(st, "liuzongjian", card, "reject_price")
    assert "价格偏高" in texts_of(st, "lishifu")
    [q1] = await st.rows(Quote)
    assert q1.status == "rejected"

    sent_at = st.clock.now()
    await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台58000元 工时2小时")
    st.clock.advance(minutes=12)
    assert "同意" in await say(st, "liuzongjian", f"同意 {t.number}")
    [_, q2] = await st.rows(Quote)
    assert q2.status == "sent" and q2.sent_at - sent_at == timedelta(minutes=12)
    to_customer = texts_of(st, "zhangsan")
    assert f"合计 ¥{q2.total}" in to_customer and "接受报价" in to_customer
    assert "压缩机 1×" in to_customer and "增值税" in to_customer and "价目表" not in to_customer
    await st.sandbox.aibot_says("zhangsan", "@工单助手 接受报价", chat_id=GROUP)
    await st.settle()
    assert (await st.rows(Quote))[-1].status == "accepted"
    assert "客户已接受" in texts_of(st, "lishifu")
    [a1, a2] = await st.rows(Approval)
    assert (a1.status, a1.reason, a2.status) == ("rejected", "价格偏高", "approved")

    # 完工 with a different report: the accepted quote is what is billed.
    work = [c for c in cards_of(st, "lishifu") if c.task_id.startswith("work-")][-1]
    await click(st, "lishifu", work, "done")
    await say(st, "lishifu", "工时1小时 配件 压缩机1个100元")
    [stmt] = await st.rows(SettlementStatement)
    assert "压缩机" in str(stmt.statement["lines"]) and stmt.gross == q2.total
    actions = [e.action for e in await st.rows(TicketEvent, TicketEvent.ticket_id == t.id)]
    assert actions.count("approval:request") == 2 and "quote:accepted" in actions


async def test_qc_inserted_while_the_technician_is_on_site_does_not_stop_the_job(st):
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13812345678")
    work = [c for c in cards_of(st, "lishifu") if c.task_id.startswith("work-")][-1]
    await click(st, "lishifu", work, "depart")
    await click(st, "lishifu", work, "arrive")
    answer = await say(st, "wangjingli", f"加质检 {t.number}")
    assert "质检" in answer and "周质检" in answer and "不受影响" in answer
    assert t.number in texts_of(st, "zhouzhijian")
    assert (await nodes(st, t.id))["qc"] == "active"
    # The technician goes on and finishes: nothing waited for 质检.
    await click(st, "lishifu", work, "done")
    await say(st, "lishifu", "工时1小时 配件 压缩机电容1个35元")
    assert (await st.rows(Ticket))[-1].status == "resolved"
    await say(st, "zhouzhijian", f"完成 {t.number} 现场复检合格")
    assert (await nodes(st, t.id))["qc"] == "done"
    events = await st.rows(TicketEvent, TicketEvent.ticket_id == t.id)
    insert = next(e for e in events if e.action == "workflow:node_insert")
    assert insert.actor.endswith("wangjingli") and insert.reason == "质检"
    # Not everyone may insert: a technician is refused.
    assert "只有主管" in await say(st, "lishifu", f"加质检 {t.number}")


async def test_a_template_field_is_asked_in_chat_and_shown_on_the_technicians_card(st):
    t = await group_report(st, "@工单助手 人民广场店制冰机坏了 13812345678", "屏幕显示E1",
                           "尽快", "确认")
    assert t.template == "ice_machine"
    assert t.fields["custom"] == [{"key": "fault_code", "label": "故障代码", "value": "E1"}]
    offers = texts_of(st, "lishifu")
    assert "故障代码：E1" in offers
    card = cards_of(st, "lishifu")[-1]
    assert {"keyname": "故障代码", "value": "E1"} in card.content["horizontal_content_list"]


def test_bad_templates_are_refused_with_file_and_line(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "fields.yaml").write_text(
        "fields:\n  dish: {label: 菜品, type: text, ask: 哪道菜？}\n", encoding="utf-8")
    (tmp_path / "templates" / "bad.yaml").write_text(
        "key: bad\nname: 坏模板\nkind: repairs\nfields: [phone, dishes]\ncollect: [phone]\n"
        "workflow:\n  - {key: a, name: 处理, kind: task}\n", encoding="utf-8")
    with pytest.raises(WorkflowConfigError) as err:
        load_workflow_config(tmp_path)
    msg = str(err.value)
    assert "bad.yaml:7" in msg and "owner" in msg  # a task node needs an owner
    (tmp_path / "templates" / "bad.yaml").write_text(
        "key: bad\nname: 坏模板\nkind: repairs\nfields: [phone, dishes]\ncollect: [phone]\n"
        "workflow:\n  - {key: a, name: 处理, kind: task, owner: {role: service}}\n",
        encoding="utf-8")
    with pytest.raises(WorkflowConfigError) as err:
        load_workflow_config(tmp_path)
    msg = str(err.value)
    assert "bad.yaml:3: kind: 'repairs' is not a ticket kind" in msg
    assert "bad.yaml:4: fields.1: 'dishes' is not in the field library" in msg


def test_the_shipped_templates_load():
    cfg = load_workflow_config()
    assert {"equipment_repair", "installation", "catering_complaint", "product_problem",
            "return_refund", "followup"} <= set(cfg.templates)


async def test_the_same_quote_through_wecoms_own_approval_app(st, tmp_path):
    """A rule with path: wecom submits the form with oa/applyevent; the sandbox's 审批 app
    calls back (sys_approval_change) when 刘总监 decides there."""
    with_config(st, tmp_path, wecom_rule("3TmAPPROVALsandboxQUOTE01",
                                         "Text-1: ticket, Textarea-1: summary, Money-1: amount"))
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13812345678")
    await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台62000元 工时2小时")
    [call] = st.sandbox.calls("oa/applyevent")
    body = call["body"]
    assert (body["creator_userid"], body["template_id"], body["use_template_approver"]) == (
        "lishifu", "3TmAPPROVALsandboxQUOTE01", 1)
    values = {c["id"]: c["value"] for c in body["apply_data"]["contents"]}
    [a] = await st.rows(Approval)
    assert values["Text-1"] == {"text": t.number} and values["Money-1"] == {"new_money": a.amount}
    assert a.path == "wecom" and a.sp_no and a.submit_state == "submitted"
    assert a.sp_no in texts_of(st, "lishifu")  # the applicant has the form's number
    assert cards_of(st, "liuzongjian") == []  # approvers decide in WeCom's app, not on our cards

    await st.sandbox.decide_form(a.sp_no, "liuzongjian", approve=False, speech="压缩机价格偏高")
    await st.settle()
    assert "压缩机价格偏高" in texts_of(st, "lishifu")
    assert (await st.rows(Quote))[-1].status == "rejected"
    # WeCom delivering the same callback again changes nothing (the inbox deduplicates it)
    await st.sandbox.decide_form(a.sp_no, "liuzongjian", approve=False, speech="压缩机价格偏高")
    await st.settle()
    assert texts_of(st, "lishifu").count("压缩机价格偏高") == 1
    await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台58000元 工时2小时")
    [_, call2] = st.sandbox.calls("oa/applyevent")
    [_, a2] = await st.rows(Approval)
    await st.sandbox.decide_form(a2.sp_no, "liuzongjian", approve=True)
    await st.settle()
    [_, q2] = await st.rows(Quote)
    assert q2.status == "sent" and f"合计 ¥{q2.total}" in texts_of(st, "zhangsan")
    events = [e.action for e in await st.rows(TicketEvent, TicketEvent.ticket_id == t.id)]
    assert events.count("approval:wecom_submitted") == 2 and "approval:wecom_change" in events


async def test_a_refused_wecom_submission_falls_back_to_cards(st, tmp_path):
    with_config(st, tmp_path, wecom_rule("NOTAtemplate", "Text-1: ticket"))
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13812345678")
    await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台62000元 工时2小时")
    [a] = await st.rows(Approval)
    assert (a.path, a.submit_state, a.sp_no) == ("bot", "failed", None)
    assert "提交失败" in texts_of(st, "lishifu")
    [card] = cards_of(st, "liuzongjian")  # the bot's own card took over
    assert [b["text"] for b in card.content["button_list"]][0] == "同意"


async def test_a_low_rating_opens_a_follow_up_that_customer_service_owns(st):
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13812345678")
    work = [c for c in cards_of(st, "lishifu") if c.task_id.startswith("work-")][-1]
    await click(st, "lishifu", work, "done")
    await say(st, "lishifu", "工时1小时 配件 压缩机电容1个35元")
    for said in ("@工单助手 确认", "@工单助手 1分，太差了"):
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    follow = (await st.rows(Ticket))[-1]
    assert (follow.category, follow.template, follow.linked_ticket_id) == ("followup", "followup",
                                                                           t.id)
    told = texts_of(st, "linkefu")
    assert follow.number in told and "客服回访" in told
    assert await nodes(st, follow.id) == {"intake": "done", "call": "active", "close": "waiting"}


NEW_KIND = """\
# 宠物寄养: a new kind of ticket, in one file
key: pet_boarding
name: 宠物寄养
kind: other
industry: 宠物店
keywords: [寄养]
field_defs:
  pet_name: {label: 宠物名, type: text, ask: 宠物叫什么名字？}
  days: {label: 寄养天数, type: number, ask: 寄养几天？, example: "5"}
fields: [phone, pet_name, days]
collect: [phone, pet_name, days]
card: [pet_name, days]
workflow:
  - {key: intake, name: 受理, kind: intake}
  - {key: approve, name: 店长审批, kind: approval, approval: boarding_ok}
  - {key: arrange, name: 安排寄养, kind: task, owner: {role: service}}
  - {key: close, name: 关闭, kind: close}
approvals:
  - key: boarding_ok
    name: 寄养审批
    steps:
      - approvers: {role: manager}
"""


async def test_a_manager_adds_a_new_kind_of_ticket_in_one_file(st, tmp_path, capsys):
    with_config(st, tmp_path, extra={"pet_boarding.yaml": NEW_KIND})  # edit one file, restart
    seen: list[str] = []

    async def customer(text: str) -> None:
        await st.sandbox.aibot_says("liuxiansheng", text)
        await st.settle()
        seen.append(f"刘先生：{text}\n  → {st.said('aibot:u:liuxiansheng')[-1]}")

    for said in ("想给我家狗狗寄养几天 13812345678", "旺财", "五天", "确认"):
        await customer(said)
    assert await st.rows(Ticket), "\n".join(seen)
    t = (await st.rows(Ticket))[-1]
    assert (t.template, t.category) == ("pet_boarding", "other")
    assert {c["label"]: c["value"] for c in t.fields["custom"]} == {"宠物名": "旺财", "寄养天数": "5"}
    [card] = cards_of(st, "wangjingli")  # 店长审批 → the manager's card
    assert "旺财" in str(card.content) and "寄养审批" in texts_of(st, "wangjingli")
    await click(st, "wangjingli", card, "approve")
    assert t.number in texts_of(st, "linkefu") and "安排寄养" in texts_of(st, "linkefu")
    await say(st, "linkefu", f"完成 {t.number} 已安排3号笼位")
    assert (await st.rows(Ticket))[-1].status == "closed"
    later = st.said("app:liuxiansheng")
    assert any("林客服" in x for x in later) and "已处理完毕" in later[-1]
    with capsys.disabled():  # the texts each person received, for the note
        print("\n".join(["", *seen, "刘先生（应用）：", *later,
                         "王经理：", texts_of(st, "wangjingli"), "林客服：", texts_of(st, "linkefu")]))


async def test_a_quote_the_books_cannot_price_is_honest_to_everyone(st):
    """No price book prices an 空调 repair: labour must be written as money, and the accepted
    quote reaches finance with the completion instead of an unexplained 人工核定."""
    t = await accepted_repair(st, "人民广场店空调不制冷了 13812345678")
    asked = await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台3800元 工时2小时")
    assert "工时费写成金额" in asked
    sent = await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台3800元 工时费240元")
    assert "已发给客户" in sent
    await st.sandbox.aibot_says("zhangsan", "@工单助手 接受报价", chat_id=GROUP)
    await st.settle()
    q = (await st.rows(Quote))[-1]
    assert q.total == "4040.00" and q.status == "accepted"
    assert "由财务按此报价出结算单" in texts_of(st, "zhangsan") + "\n".join(
        st.said(f"aibot:g:{GROUP}"))
    work = [c for c in cards_of(st, "lishifu") if c.task_id.startswith("work-")][-1]
    await click(st, "lishifu", work, "done")
    await say(st, "lishifu", "工时2小时 配件 压缩机1个3800元")
    assert "按您接受的报价 ¥4040.00" in texts_of(st, "zhangsan")
    assert "客户已接受报价 ¥4040.00" in texts_of(st, "qiankuaiji")


async def test_confirming_before_the_questions_are_answered_asks_again(st):
    await st.sandbox.member_says("zhangsan", "人民广场店咖啡机坏了 13812345678")
    await st.settle()
    await st.sandbox.member_says("zhangsan", "确认")
    await st.settle()
    answer = texts_of(st, "zhangsan").split("\n")
    assert "还差一项才能建单：希望什么时间上门？" in "\n".join(answer[-2:])
    assert await st.rows(Ticket) == []  # "确认" was not taken as the visit time


async def test_a_group_purchase_customer_s_quote_goes_through_the_special_chain(st):
    """集团采购 (config/settlement.yaml gives the tag to 13700000001): 经理 first, then 技术总监."""
    t = await accepted_repair(st, "人民广场店咖啡机坏了 13700000001")
    answer = await say(st, "lishifu", f"报价 {t.number} 更换压缩机1台3800元 工时2小时")
    assert "集团采购审批" in answer and "王经理" in answer
    assert "同意" in await say(st, "wangjingli", f"同意 {t.number}")
    assert cards_of(st, "liuzongjian") and "集团采购审批" in texts_of(st, "liuzongjian")
    assert (await st.rows(Quote))[-1].status == "approval"  # not with the customer yet
    await say(st, "liuzongjian", f"同意 {t.number}")
    assert (await st.rows(Quote))[-1].status == "sent"
