"""The board in a real Chromium (Debian's, installed by tests/browser/chromium.py when missing),
on a phone-sized screen: sign-in through the sandbox's web OAuth, a manager sees only their
region, the map shows the bubbles, the lights turn yellow when the injected clock passes the
yellow point (live, without a reload), and a dispatcher's 指派 reaches the technician's chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from models.sla import SlaClock
from tests.browser.chromium import CHROMIUM_ARGS, ensure_chromium
from tests.handlers.board.test_board import board_world

STEP = 20_000  # ms


@pytest.mark.timeout(1200)  # room for apt-get on a machine without chromium
async def test_the_board_in_chromium(sqlite_url, tmp_path):
    chromium = ensure_chromium()
    stack, (sh, hz, consult) = await board_world(sqlite_url, tmp_path)
    problems: list[str] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(chromium), headless=True,
                                               args=CHROMIUM_ARGS)
            phone = await browser.new_context(viewport={"width": 390, "height": 844},
                                              locale="zh-CN", is_mobile=True, has_touch=True)
            page = await phone.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{stack.bot.url}/board/")
            # The sandbox's 企业微信授权 page: who is on the phone.
            await expect(page.get_by_role("heading", name="企业微信授权（沙盒）")).to_be_visible()
            await page.get_by_role("link", name="上海经理").click()
            await expect(page.locator("#me")).to_have_text("上海经理 · 上海市", timeout=STEP)
            rows = page.locator("#tickets li[data-number]")
            await expect(rows).to_have_count(2, timeout=STEP)
            assert sorted(await rows.evaluate_all("ls => ls.map(l => l.dataset.number)")) == \
                sorted([sh, consult])
            await expect(page.locator("#tickets li[data-light=green]")).to_have_count(2)
            bubble = page.locator("#map g.bubble")
            await expect(bubble).to_have_count(1)
            await expect(bubble).to_have_attribute("data-count", "2")
            await page.screenshot(path=str(tmp_path / "board-green.png"), full_page=True)
            # The injected clock passes the first yellow point: the page follows by itself.
            async with stack.bot.sm() as s:
                yellow = min(c.yellow_at for c in (await s.execute(select(SlaClock))).scalars())
            stack.clock.set(yellow + timedelta(seconds=1))
            await expect(page.locator("#tickets li[data-light=yellow]").first).to_be_visible(
                timeout=STEP)
            await expect(bubble).to_have_attribute("data-light", "yellow", timeout=STEP)
            await page.screenshot(path=str(tmp_path / "board-yellow.png"), full_page=True)
            # A ticket's page.
            await page.locator(f'#tickets li[data-number="{sh}"]').click()
            await expect(page.locator("#sheet h2")).to_contain_text(sh)
            await expect(page.locator("#sheet")).to_contain_text("操作记录")
            await expect(page.locator("#assign")).to_be_visible()  # managers may 指派 in chat too

            # 王经理 (dispatcher too) assigns the consult ticket to 李师傅 from the board.
            desk = await browser.new_context(viewport={"width": 1280, "height": 860},
                                             locale="zh-CN")
            page2 = await desk.new_page()
            page2.on("pageerror", lambda e: problems.append(str(e)))
            await page2.goto(f"{stack.bot.url}/board/")
            await page2.get_by_role("link", name="王经理").click()
            await page2.locator(f'#tickets li[data-number="{consult}"]').click()
            await page2.locator("#to").select_option("lishifu")
            await page2.locator("#assign").click()
            await expect(page2.locator("#assigned")).to_have_text(
                "已提交，结果见企业微信消息", timeout=STEP)
            await stack.settle()
            told = [str(ln.content) for ln in stack.sandbox.delivered("app:lishifu")]
            assert any(consult in t for t in told), told
            await browser.close()
    finally:
        await stack.bot.stop()
        await stack.sandbox.stop()
    assert problems == []
