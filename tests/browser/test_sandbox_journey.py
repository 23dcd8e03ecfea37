"""A newcomer's first journey through the sandbox page, in a real Chromium (issue 11).

The bot is started as a newcomer starts it (``main.py serve`` with no credentials, in an empty
directory, on free ports); the test then only uses the page: the 微信客服 customer reports a
broken coffee machine at 人民广场店 and answers the bot's questions; 李师傅 (coffee skills,
0.4 km away, config/sandbox/staff.yaml) sees the offer card and clicks 接单; the card turns into
已接单; the customer sees the 接单 notice. Nothing waits on time: every step waits for what a
person would look for on the page. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser.chromium import CHROMIUM_ARGS
from tests.procs import MAIN, clean_env, free_port

REPORT = "人民广场店咖啡机坏了 13812345678 今天下午"
STEP = 20_000  # ms: the longest a person waits for one thing on the page


async def start_newcomer_bot(tmp_path: Path):
    """``main.py serve`` without credentials: the bot and its sandbox; the page's URL."""
    port, sb_port = free_port(), free_port()
    log = (tmp_path / "bot.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "serve", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=log, env=clean_env(PORT=str(port), SANDBOX_PORT=str(sb_port)))
    log.close()
    line = ""
    while "Open http" not in line:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        if not line and proc.stdout.at_eof():
            raise AssertionError("serve exited before printing the page URL: "
                                 + (tmp_path / "bot.log").read_text(errors="replace")[-2000:])
    return proc, f"http://127.0.0.1:{sb_port}/"


async def stop_bot(proc) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)


async def choose(page: Page, persona: str) -> None:
    await page.locator(f'.persona[data-id="{persona}"]').click()
    await expect(page.locator(f'.persona.active[data-id="{persona}"]')).to_be_visible()


async def say(page: Page, text: str) -> None:
    """Write and send; wait until the bot has answered (one more bot line than before)."""
    bot_lines = page.locator(".line.bot")
    before = await bot_lines.count()
    await page.locator("#text").fill(text)
    await page.locator("#send").click()
    await expect(page.locator(".line.me .bubble").last).to_have_text(text, timeout=STEP)
    await expect(bot_lines).not_to_have_count(before, timeout=STEP)


@pytest.mark.timeout(1200)  # room for apt-get on a machine without chromium; the test: ~20 s
async def test_report_offer_accept_and_notice_in_a_real_browser(chromium, tmp_path):
    proc, url = await start_newcomer_bot(tmp_path)
    problems: list[str] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=str(chromium), headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 860}, locale="zh-CN")
            page = browser.pages[0] if browser.pages else await browser.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("response", lambda r: r.status >= 400 and problems.append(
                f"{r.status} {r.url}"))
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(url)
            await expect(page).to_have_title("企业微信沙箱 · 工单助手")

            # The 微信客服 customer reports; the placeholder names a store of the sandbox.
            await choose(page, "kf_chen")
            assert "人民广场店" in (await page.locator("#text").get_attribute("placeholder"))
            await say(page, REPORT)
            customer_sees = page.locator(".line.bot .bubble", has_text="已为您创建工单")
            for _ in range(4):  # answer what the bot asks until the ticket exists
                if await customer_sees.count():
                    break
                asked = await page.locator(".line.bot .bubble").last.inner_text()
                await say(page, "确认" if "确认" in asked else "尽快")
            await expect(customer_sees).to_have_count(1)
            number = (await customer_sees.inner_text()).split("工单 ")[1].split()[0]
            await page.screenshot(path=tmp_path / "1-customer-ticket-created.png")

            # 李师傅 has the offer card, and its buttons.
            await choose(page, "app_li")
            offer = page.locator(".card", has_text=number).filter(has_text="新派单")
            await expect(offer).to_be_visible(timeout=STEP)
            accept = offer.get_by_role("button", name="接单", exact=True)
            await expect(accept).to_be_enabled()
            await page.screenshot(path=tmp_path / "2-technician-offer.png")

            # 接单: the card turns into 已接单, and the click shows as the button's label.
            await accept.click()
            await expect(offer.locator(".done")).to_have_text("已接单", timeout=STEP)
            await expect(offer.get_by_role("button")).to_have_count(0)
            await expect(page.locator(".line.event").last).to_have_text("点击了「接单」")
            await expect(page.locator("#lines")).not_to_contain_text("dispatch:")
            await page.screenshot(path=tmp_path / "3-technician-accepted.png")

            # The customer is told, in their 微信客服 chat.
            await choose(page, "kf_chen")
            notice = page.locator('.line.bot[data-chat-kind="kf"] .bubble',
                                  has_text="李师傅已接单")
            await expect(notice).to_be_visible(timeout=STEP)
            await expect(notice).to_contain_text(number)
            await page.screenshot(path=tmp_path / "4-customer-notice.png")
            await browser.close()
    finally:
        await stop_bot(proc)
    assert problems == [], problems  # no console error, no 404 (the favicon included)
    assert proc.returncode == 0
