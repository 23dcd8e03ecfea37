"""Every WeCom-side ✗ the doctor can print, each produced by the sandbox the way the real console
would get it wrong, with the advice a person reads. And the run where everything is right."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from handlers.doctor import run_doctor
from tests.conftest import ROOT, TEST_AES_KEY, TEST_SECRET, TEST_TOKEN, make_settings
from tests.handlers.doctor.conftest import add_staff, line, settings_for

SECRETS = (TEST_SECRET, TEST_TOKEN, TEST_AES_KEY)
SANDBOX_TEMPLATE = "3TmAPPROVALsandboxQUOTE01"  # the 审批 template the sandbox's corp has


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_a_correct_setup_passes_every_check_and_prints_no_secret(sqlite_url, sandbox,
                                                                       public, pki):
    url, front, _ = public
    add_staff(sqlite_url, "lishifu", "wangshifu")
    settings = settings_for(sqlite_url, sandbox, PUBLIC_URL=url, DOCTOR_CA_FILE=str(pki.ca_file),
                            WECOM_APPROVAL_TEMPLATE_ID=SANDBOX_TEMPLATE)
    report = await run_doctor(settings)
    text = report.render()
    assert [(r.id, r.mark) for r in report.results] == [
        ("settings", "✓"), ("config", "✓"), ("database", "✓"), ("migrations", "✓"),
        ("gettoken", "✓"), ("clock", "✓"), ("trusted_ip", "✓"), ("agent", "✓"),
        ("visible_range", "✓"), ("kf", "✓"), ("approval", "✓"), ("public_dns", "✓"),
        ("public_tls", "✓"), ("callback_app", "✓"), ("callback_aibot", "✓")], text
    assert report.ok and report.exit_code == 0
    assert "全部通过 / all passed" in text
    assert "2 名员工都在可见范围内" in text and "all 2 staff" in text
    # The signed request reached the bot with its query string, through the proxy.
    assert any(p.startswith("/wecom/callback?msg_signature=") for p in front.seen)
    assert_no_secret(text)
    assert_no_secret(str(report.as_dict()))


async def test_approval_is_not_used_until_configured(sqlite_url, sandbox):
    report = await run_doctor(settings_for(sqlite_url, sandbox))
    result, text = line(report, "approval")
    assert result.mark == "–" and "未使用" in text and "not used" in text


@pytest.mark.parametrize("over,says,fix", [
    ({"WECOM_SECRET": SecretStr("another-apps-secret")},
     "errcode 40001：Secret 不对（不是这个应用的，或已重置）", "Secret 旁「查看」"),
    ({"WECOM_CORP_ID": "wx0000000000000000"}, "errcode 40013：企业ID 不对", "我的企业 → 企业信息"),
    ({"WECOM_SECRET": SecretStr("")}, "errcode 41004：没有 Secret", "WECOM_SECRET"),
])
async def test_gettoken_errcodes_are_explained(sqlite_url, sandbox, over, says, fix):
    settings = settings_for(sqlite_url, sandbox).model_copy(update=over)
    report = await run_doctor(settings)
    result, text = line(report, "gettoken")
    assert result.mark == "✗" and says in text and fix in text
    assert text.count("修复：") == 1 and text.count("Fix: ") == 1
    assert report.get("agent").mark == "–" and report.exit_code == 1
    assert_no_secret(report.render())


async def test_untrusted_ip_names_the_ip_wecom_reports(sqlite_url, sandbox):
    sandbox.untrust_ip("203.0.113.7")
    report = await run_doctor(settings_for(sqlite_url, sandbox))
    assert report.get("gettoken").mark == "✓"  # gettoken itself is not refused
    result, text = line(report, "trusted_ip")
    assert result.mark == "✗"
    assert "errcode 60020：企业微信拒绝来自 203.0.113.7 的调用" in text
    assert "「企业可信IP」→ 配置 → 添加 203.0.113.7" in text
    assert "企业可信IP (Trusted IPs) at the bottom → 配置 → add 203.0.113.7" in text
    assert report.get("agent").mark == "–" and report.get("kf").mark == "–"


async def test_untrusted_ip_on_gettoken_too(sqlite_url, sandbox):
    sandbox.untrust_ip("198.51.100.23", gettoken=True)
    report = await run_doctor(settings_for(sqlite_url, sandbox))
    for check_id in ("gettoken", "trusted_ip"):
        result, text = line(report, check_id)
        assert result.mark == "✗" and "198.51.100.23" in text and "企业可信IP" in text


async def test_a_token_that_is_already_expired_is_42001(sqlite_url, sandbox):
    sandbox.issue_expired_tokens()
    report = await run_doctor(settings_for(sqlite_url, sandbox))
    result, text = line(report, "agent")
    assert result.mark == "✗" and "errcode 42001：access_token 刚取得就已过期" in text
    assert "不缓存 gettoken" in text
    assert len(sandbox.calls("gettoken")) == 2  # the client refreshed once, as the bot would


async def test_agent_id_of_another_app_and_a_disabled_app(sqlite_url, sandbox):
    report = await run_doctor(settings_for(sqlite_url, sandbox, WECOM_AGENT_ID=1000099))
    result, text = line(report, "agent")
    assert result.mark == "✗"
    assert "agent/get errcode 301002：AgentId 1000099 不是这个 Secret 的应用" in text
    assert "同一页面的 AgentId 填到 WECOM_AGENT_ID" in text
    sandbox.close_app()
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "agent")
    assert result.mark == "✗" and "应用「工单助手」已停用" in text and "→ 启用" in text


async def test_staff_outside_the_visible_range_unknown_or_spelled_differently(sqlite_url,
                                                                             sandbox):
    sandbox.add_member("xiaoliu", "小刘")
    sandbox.hide_from_app("xiaoliu", "wangshifu")
    add_staff(sqlite_url, "lishifu", "wangshifu", "xiaoliu", "ghost01", "ZhouShiFu")
    report = await run_doctor(settings_for(sqlite_url, sandbox))
    result, text = line(report, "visible_range")
    assert result.mark == "✗"
    assert "2 名员工不在可见范围内：wangshifu, xiaoliu" in text
    assert "「可见范围」→ 添加 wangshifu, xiaoliu" in text
    assert "1 个 userid 企业微信通讯录里没有：ghost01" in text
    assert "1 个 userid 大小写与企业微信不同：ZhouShiFu → zhoushifu" in text
    assert "staff import" in text
    # Named members (whatever the case) come with agent/get; only the others are asked.
    asked = sorted(c["params"]["userid"] for c in sandbox.calls("user/get"))
    assert asked == ["ghost01", "wangshifu", "xiaoliu"]


@pytest.mark.parametrize("setup,expect,fix", [
    (lambda sb: sb.forbid("kf"), "kf/account/list errcode 48002",
     "微信客服 → 点开「API」→「可调用接口的应用」"),
    (lambda sb: sb.set_kf_accounts([]), "没有客服账号", "微信客服 → 创建账号"),
    (lambda sb: sb.set_kf_accounts([{"open_kfid": "wkA1", "name": "售后",
                                      "manage_privilege": False}]),
     "本应用不能为这些客服账号收发消息：售后 (wkA1)", "manage_privilege 为 false"),
])
async def test_wechat_customer_service_problems(sqlite_url, sandbox, setup, expect, fix):
    setup(sandbox)
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "kf")
    assert result.mark == "✗" and expect in text and fix in text


async def test_kf_can_be_skipped_by_a_company_without_it(sqlite_url, sandbox):
    sandbox.forbid("kf")
    report = await run_doctor(settings_for(sqlite_url, sandbox, DOCTOR_SKIP="kf"))
    result, text = line(report, "kf")
    assert result.mark == "–" and "DOCTOR_SKIP" in text
    assert not sandbox.calls("kf/account/list")


async def test_approval_api_not_granted(sqlite_url, sandbox):
    sandbox.forbid("approval")
    report = await run_doctor(settings_for(sqlite_url, sandbox,
                                           WECOM_APPROVAL_TEMPLATE_ID=SANDBOX_TEMPLATE))
    result, text = line(report, "approval")
    assert result.mark == "✗" and "oa/gettemplatedetail errcode 48002：应用不能调用审批接口" in text
    assert "审批 → 点开「API」→「可调用接口的应用」" in text


def workflow_with(tmp_path, monkeypatch, template_id: str, controls: str):
    """config/workflow.yaml with 大额维修审批 going through WeCom's 审批 app, as the doctor loads it."""
    import shutil

    from handlers.doctor import approval
    from handlers.workflow.config import load_workflow_config

    conf = tmp_path / "config"
    shutil.copytree(ROOT / "config", conf, ignore=shutil.ignore_patterns("sandbox", "pricebooks"))
    text = (conf / "workflow.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^    when: \{amount_gt: 50000\}.*$",
                      "    when: {amount_gt: 50000}\n    path: wecom\n"
                      f"    wecom_template_id: {template_id}\n    wecom_controls: {controls}",
                      text)
    assert n == 1
    (conf / "workflow.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(approval, "load_workflow", lambda: load_workflow_config(conf))


async def test_approvals_through_wecom_are_checked_from_workflow_yaml(sqlite_url, sandbox,
                                                                     tmp_path, monkeypatch):
    workflow_with(tmp_path, monkeypatch, SANDBOX_TEMPLATE,
                  "{Text-1: ticket, Textarea-1: summary, Money-1: amount}")
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "approval")
    assert result.mark == "✓" and "模板都在：维修报价审批" in text, text
    assert [c["body"]["template_id"] for c in sandbox.calls("oa/gettemplatedetail")] == [
        SANDBOX_TEMPLATE]


async def test_an_approval_template_that_is_not_there(sqlite_url, sandbox, tmp_path,
                                                      monkeypatch):
    workflow_with(tmp_path, monkeypatch, "3TmNOTaTEMPLATEofTHIScorp", "{Text-1: ticket}")
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "approval")
    assert result.mark == "✗", text
    assert ("oa/gettemplatedetail errcode 301026：审批模板不存在、未启用或不是企业自建的："
            "3TmNOTaTEMPLATEofTHIScorp（大额维修审批）") in text
    assert "审批 → 模板管理：用企业自建并已启用的模板" in text


async def test_an_approval_template_without_the_controls_the_rule_fills(sqlite_url, sandbox,
                                                                       tmp_path, monkeypatch):
    workflow_with(tmp_path, monkeypatch, SANDBOX_TEMPLATE, "{Text-1: ticket, Money-9: amount}")
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "approval")
    assert result.mark == "✗"
    assert "模板「维修报价审批」没有控件 Money-9（config/workflow.yaml 的 wecom_controls 用到）" in text
    assert "property.id" in text and "301025" in text


@pytest.mark.parametrize("seconds,way", [(150, "慢"), (-150, "快")])
async def test_a_clock_off_by_more_than_a_minute(sqlite_url, sandbox, seconds, way):
    sandbox.skew_clock(seconds)  # WeCom's Date header runs ahead (we are slow) or behind
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "clock")
    # Whole seconds on both sides: exactly 150.
    assert result.mark == "✗" and f"比企业微信{way} 150 秒（允许 60 秒）" in text, text
    assert "timedatectl set-ntp true" in text


async def test_wecom_unreachable(sqlite_url):
    from tests.procs import free_port

    settings = make_settings(sqlite_url, WECOM_API_BASE=f"http://127.0.0.1:{free_port()}")
    report = await run_doctor(settings)
    result, text = line(report, "gettoken")
    assert result.mark == "✗" and "连不上" in text and "curl -sS https://qyapi.weixin.qq.com" in text
    assert report.get("clock").mark == "–"


async def test_an_errcode_the_doctor_has_no_words_for_links_to_wecoms_lookup(sqlite_url,
                                                                             sandbox):
    sandbox.fail("gettoken", errcode=99999)  # none of 40001/40013/41004/60020
    result, text = line(await run_doctor(settings_for(sqlite_url, sandbox)), "gettoken")
    assert result.mark == "✗" and "errcode 99999：injected by sandbox" in text
    assert "https://open.work.weixin.qq.com/devtool/query?e=99999" in text
