"""The systemd units and the logrotate file of docs/deploy/, checked by the real tools: every unit
passes ``systemd-analyze verify`` (with /opt/wecom-bot pointed at this checkout, since the
command checks that ExecStart exists), runs the right command with the right split of work, and
``logrotate`` accepts the rotation rules and rotates a log the bot still writes to. systemd
itself cannot run on this machine (a container with no init): starting the units is not tested."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

from tests.browser.chromium import ensure_packages

from tests.conftest import ROOT

DEPLOY = ROOT / "docs" / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_ingest_and_worker_processes_split_the_work():
    ingest, worker = unit("wecom-bot@.service"), unit("wecom-bot-worker.service")
    # The instance is the port; on the command line, so that bot.env cannot override either.
    assert ingest["Service"]["ExecStart"] == (
        "/usr/bin/env PORT=%i RUN_WORKER=false /opt/wecom-bot/.venv/bin/python main.py serve")
    assert ingest["Service"]["StandardOutput"] == "append:/var/log/wecom-bot/ingest-%i.log"
    assert worker["Service"]["ExecStart"].endswith("main.py worker")
    for u in (ingest, worker):
        assert u["Service"]["EnvironmentFile"] == "/etc/wecom-bot/bot.env"
        assert u["Service"]["Restart"] == "always" and u["Service"]["KillSignal"] == "SIGTERM"
        assert u["Service"]["StandardOutput"].startswith("append:/var/log/wecom-bot/")
        assert u["Service"]["LogsDirectory"] == "wecom-bot"
    # The two ingest instances are the ones both reverse-proxy examples send to.
    upstream = (DEPLOY / "nginx" / "wecom-bot-upstream.conf").read_text()
    routes = (DEPLOY / "caddy" / "wecom-bot-routes.caddy").read_text()
    for port in ("8080", "8082"):
        assert f"server 127.0.0.1:{port} " in upstream and f"127.0.0.1:{port}}}" in routes
    backup, timer = unit("wecom-bot-backup.service"), unit("wecom-bot-backup.timer")
    assert backup["Service"]["ExecStart"] == "/opt/wecom-bot/docs/deploy/backup/backup.sh"
    assert timer["Timer"]["Persistent"] == "true"


def test_units_verify(tmp_path):
    ensure_packages(("systemd",), "verifying the systemd units")
    (tmp_path / "bot.env").write_text("DATABASE_URL=postgresql://x@127.0.0.1/x\n")
    for path in UNITS:
        text = (path.read_text().replace("/opt/wecom-bot", str(ROOT))
                .replace("/etc/wecom-bot/bot.env", str(tmp_path / "bot.env"))
                .replace("/var/log/wecom-bot", str(tmp_path / "log"))
                .replace("/var/lib/wecom-bot", str(tmp_path / "lib"))
                .replace("/var/backups/wecom-bot", str(tmp_path / "backups")))
        # A template is verified as one of its instances (the port the proxies expect).
        (tmp_path / path.name.replace("@.", "@8080.")).write_text(text)
    for d in ("log", "lib", "backups"):
        (tmp_path / d).mkdir()
    names = [p.name.replace("@.", "@8080.") for p in UNITS]
    out = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in names)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    ours = [ln for ln in out.stderr.splitlines() if str(tmp_path) in ln or "wecom-bot" in ln]
    assert out.returncode == 0 and not ours, out.stderr[-3000:]


def test_logrotate_rotates_a_log_still_being_written(tmp_path):
    ensure_packages(("logrotate",), "the logrotate example")
    rules = (DEPLOY / "logrotate" / "wecom-bot").read_text()
    assert "copytruncate" in rules and "/var/log/wecom-bot/*.log" in rules
    me = os.environ.get("USER") or "root"
    rules = (rules.replace("/var/log/wecom-bot", str(tmp_path))
             .replace("wecom-bot wecom-bot", f"{me} {me}"))
    (tmp_path / "wecom-bot.conf").write_text(rules)
    log = tmp_path / "ingest.log"
    with open(log, "a", encoding="utf-8") as writer:  # what systemd's append: opens
        writer.write('{"msg": "before"}\n')
        writer.flush()
        out = subprocess.run(["logrotate", "--force", "--state", str(tmp_path / "state"),
                              str(tmp_path / "wecom-bot.conf")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        writer.write('{"msg": "after"}\n')
        writer.flush()
    rotated = [p for p in tmp_path.iterdir() if p.name.startswith("ingest.log-")]
    assert len(rotated) == 1 and rotated[0].read_text() == '{"msg": "before"}\n'
    assert log.read_text() == '{"msg": "after"}\n'  # no hole of zeros before it (O_APPEND)


def test_env_example_names_only_real_settings():
    from bot.settings import Settings

    names = [ln.split("=", 1)[0] for ln in (DEPLOY / "bot.env.example").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert names and set(names) <= set(Settings.model_fields), set(names) - set(
        Settings.model_fields)
    assert Path(DEPLOY / "backup" / "backup.sh").stat().st_mode & 0o111
