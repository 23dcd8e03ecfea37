"""The API against its own OpenAPI document, with schemathesis (pinned in pyproject.toml):
every operation, valid and invalid inputs (positive and negative generation), every check —
a 5xx, an undocumented status or content type, a response that does not match its schema, or
bad input that is accepted fails the run. Real HTTP on loopback, the bot's own server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from handlers.staff.seed import seed_sandbox
from tests.handlers.board.conftest import ALL, make_key

ST = Path(sys.executable).parent / "st"


async def test_every_operation_against_the_openapi_document(db_url, tmp_path):
    from tests.conftest import start_stack

    stack = await start_stack(db_url)
    try:
        async with stack.bot.sm() as s, s.begin():
            await seed_sandbox(s, stack.clock.now())
        key = await make_key(stack, "fuzz", ALL, rate=100000)
        proc = await asyncio.create_subprocess_exec(
            str(ST), "run", f"{stack.bot.url}/api/openapi.json", "--checks", "all",
            "--mode", "all", "--max-examples", "25", "--workers", "1", "--seed", "16",
            "--phases", "examples,coverage,fuzzing", "--no-color",
            "--generation-database", "none", "--request-timeout", "10",
            "-H", f"Authorization: Bearer {key}", "--report-dir", str(tmp_path),
            cwd=tmp_path,  # its cache (.schemathesis/) stays out of the checkout
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
    finally:
        await stack.bot.stop()
        await stack.sandbox.stop()
    text = out.decode("utf-8", "replace")
    (tmp_path / "schemathesis.log").write_text(text, encoding="utf-8")
    assert proc.returncode == 0, text[:4000] + "\n…\n" + text[-3000:]
    from handlers.board.openapi import OPS

    assert f"Tested: {len(OPS)}" in text, text[-2000:]  # every operation was exercised
    print(text[-1200:])
