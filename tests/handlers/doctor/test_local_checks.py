"""The checks without network: settings (complete, well-formed, even when they do not load),
the configuration files, the database and its migrations — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.settings import SettingsError, load_settings
from handlers.doctor import run_doctor
from handlers.doctor.local import check_database, check_settings, head_revision
from tests.conftest import TEST_AES_KEY, make_settings
from tests.handlers.doctor.conftest import line


def settings_line(result):
    return "\n".join(result.lines("both"))


async def test_settings_that_do_not_load_are_the_first_cross_not_a_crash():
    with pytest.raises(SettingsError) as exc:
        load_settings(_env_file=None, WECOM_CORP_ID="ww1", WECOM_AGENT_ID=1, WECOM_SECRET="s",
                      WECOM_TOKEN="t", WECOM_AES_KEY="too-short")
    report = await run_doctor(None, settings_error=str(exc.value))
    result, text = line(report, "settings")
    assert result.mark == "✗" and "WECOM_AES_KEY must be 43 characters" in text
    assert "EncodingAESKey（43 个字符" in text and "随机获取" in text
    assert all(r.mark == "–" for r in report.results[1:]) and report.exit_code == 1


def test_no_wecom_settings_at_all():
    settings = make_settings("sqlite://").model_copy(update={"WECOM_CORP_ID": ""})
    text = settings_line(check_settings(settings))
    assert "✗" in text and "没有企业微信设置：机器人只会连本地沙箱" in text and "WECOM_CORP_ID、WECOM_AGENT_ID" in text


@pytest.mark.parametrize("over,expect,fix", [
    ({"WECOM_SECRET": SecretStr(" abc ")}, "WECOM_SECRET 开头或结尾有空格或引号",
     "重新复制 WECOM_SECRET"),
    ({"WECOM_TOKEN": SecretStr('"QDG6eK"')}, "WECOM_TOKEN 开头或结尾有空格或引号", "不要带空格、引号"),
    ({"WECOM_TOKEN": SecretStr("QDG 6eK")}, "WECOM_TOKEN 含有空格或非 ASCII 字符", "设置API接收"),
    ({"WECOM_CORP_ID": "WX5823bf96d3bd56c7"},
     "WECOM_CORP_ID 以大写字母开头：企业ID 以小写 ww 或 wx 开头，区分大小写", "我的企业 → 企业信息"),
    ({"WECOM_AGENT_ID": 0}, "WECOM_AGENT_ID 必须是正整数", "AgentId（数字）"),
    ({"PUBLIC_URL": "https://bot.example.com/wecom/callback"},
     "PUBLIC_URL 不应以 /wecom/callback 结尾", "不带 /wecom/callback"),
])
def test_malformed_settings_are_named_with_where_to_copy_them_from(over, expect, fix):
    settings = make_settings("sqlite://").model_copy(update=over)
    result = check_settings(settings)
    text = settings_line(result)
    assert result.mark == "✗" and expect in text and fix in text, text
    assert TEST_AES_KEY not in text


def test_well_formed_settings():
    result = check_settings(make_settings("sqlite://"))
    assert result.mark == "✓" and "AgentId 218" in settings_line(result)


async def test_a_broken_config_file_names_file_line_and_field(sqlite_url, tmp_path):
    bad = tmp_path / "groups.yaml"
    bad.write_text("groups:\n  - chat_id: wrABC\n    webhok_key: x\n", encoding="utf-8")
    report = await run_doctor(make_settings(sqlite_url, GROUPS_CONFIG=str(bad),
                                            WECOM_API_BASE="http://127.0.0.1:1",
                                            DOCTOR_SKIP="public_dns"))
    result, text = line(report, "config")
    assert result.mark == "✗" and "groups.yaml:3" in text and "webhok_key" in text
    assert "改正上面指出的文件、行和字段" in text


def test_database_on_both_backends(db_url):
    found = check_database(db_url)
    assert found.database.mark == "✓" and found.migrations.mark == "✓"
    assert found.staff == []
    if db_url.startswith("postgresql"):
        assert "postgresql://" in found.database.detail[1]


def test_database_unreachable_hides_the_password():
    found = check_database("postgresql://bot:hunter2secret@127.0.0.1:1/nope")
    text = settings_line(found.database)
    assert found.database.mark == "✗" and "连不上 postgresql://bot:***@127.0.0.1:1/nope" in text
    assert "hunter2secret" not in text and "systemctl status postgresql" in text
    assert found.migrations.mark == "–"


def test_migrations_behind_and_unknown(tmp_path):
    from sqlalchemy import create_engine, text

    from models.db import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0007")
    found = check_database(url)
    assert found.migrations.mark == "✗"
    line_text = settings_line(found.migrations)
    assert f"数据库在 0007，代码需要 {head_revision()}" in line_text
    assert "python main.py migrate" in line_text
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    line_text = settings_line(check_database(url).migrations)
    assert "数据库版本 0099 本代码不认识（数据库比代码新？）" in line_text and "迁移只增不减" in line_text and "升级" in line_text


def test_a_sqlite_file_that_is_not_there_yet_is_not_created(tmp_path):
    path = tmp_path / "later" / "bot.db"
    found = check_database(f"sqlite:///{path}")
    assert found.database.mark == "✓" and found.migrations.mark == "✗"
    assert "还不存在：python main.py migrate" in settings_line(found.database)
    assert not path.exists()


def test_every_config_file_the_bot_loads_at_start_is_checked():
    from handlers.doctor.local import check_config

    result = check_config(make_settings("sqlite://"))
    text = settings_line(result)
    assert result.mark == "✓"
    for name in ("intake.yaml", "offering.yaml", "pricebooks/", "groups.yaml", "sla.yaml",
                 "workflow.yaml", "customers.yaml", "api.yaml"):
        assert name in text, name


async def test_a_broken_sla_file_is_named_too(tmp_path):
    from handlers.doctor.local import check_config

    bad = tmp_path / "sla.yaml"
    bad.write_text("policies:\n  - name: 1\n    respond_minutes: soon\n", encoding="utf-8")
    result = check_config(make_settings("sqlite://", SLA_CONFIG=str(bad)))
    text = settings_line(result)
    assert result.mark == "✗" and "sla.yaml:" in text, text
