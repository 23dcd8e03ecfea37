"""The setup doctor in a real bot process: at start it runs every check once, in the background,
and says what it found in one log line — a ✗ with the IP WeCom refused, and never a secret —
while the bot acks callbacks as usual."""

from __future__ import annotations

import asyncio
import signal

from bot.sandbox.server import Sandbox
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN
from tests.procs import free_port, start_bot


async def read_until(proc, marker: str, timeout: float = 30) -> tuple[str, list[str]]:
    seen = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), timeout)).decode()
        assert line, f"the bot exited before logging {marker!r}: {seen}"
        seen.append(line)
        if marker in line:
            return line, seen


async def test_one_log_line_at_start_names_what_to_fix(sqlite_url, tmp_path):
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    sandbox.untrust_ip("203.0.113.7")
    port = free_port()
    sandbox.bot_url = f"http://127.0.0.1:{port}"
    proc = await start_bot(sqlite_url, sb_url, port, tmp_path, LOG_FORMAT="text")
    try:
        rec = await sandbox.member_says("zhangsan", "打印机卡纸")
        assert rec["acked"]  # the doctor's run is beside the bot, never in its way
        line, seen = await read_until(proc, "setup doctor:")
        assert sum("setup doctor:" in ln for ln in seen) == 1
        assert "WARNING" in line
        assert "✗" in line and "trusted_ip: errcode 60020: WeCom refuses calls from 203.0.113.7" in line
        assert "public_dns: PUBLIC_URL is not set" in line
        assert "python main.py doctor shows how to fix each" in line
        for secret in (TEST_SECRET, TEST_TOKEN, TEST_AES_KEY):
            assert secret not in "".join(seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        await sandbox.stop()
    assert proc.returncode == 0
    for secret in (TEST_SECRET, TEST_TOKEN, TEST_AES_KEY):
        assert secret not in err.decode()
