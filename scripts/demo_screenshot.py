"""Take the README's picture of `shopbot demo`: a shopper asks, bargains, writes to the shop's
own account (Telegram Business) and is handed over, staff answer, the owner sends a
promotion. Writes docs/demo.png.

    python scripts/demo_screenshot.py [--out docs/demo.png]

Needs what the browser tests need: Playwright (the test extras) and Debian's chromium.
The demo runs on its in-process storage; nothing is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from bot import PROJECT_DIR
from bot.devtools.demo import Demo
from handlers.layer import create_app

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


async def say(page: Page, pane: str, text: str, wait_for: str) -> None:
    box = page.locator(f"#{pane}-form input[name=text]")
    await box.fill(text)
    await box.press("Enter")
    answer = page.locator(f"#{pane}-chat .msg.in", has_text=wait_for).last
    await expect(answer).to_be_visible(timeout=15_000)


async def main(out: Path) -> None:
    async with Demo(port=0, create_app=create_app) as demo, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
        page = await browser.new_page(viewport={"width": 1500, "height": 860})
        await page.goto(demo.url)
        await page.locator("#shopper-chat .empty button").click()
        await expect(page.locator("#shopper-chat .msg.in")).to_have_count(1, timeout=15_000)
        await say(page, "shopper", "do you have the linen shirt in M?", "Classic linen shirt")
        await say(page, "shopper", "any discount?", "price")
        await say(page, "shopper", "ok, at least a little gift?", "scrunchie")
        # The same shopper writes to the shop's own account: the bot answers there too.
        await say(page, "business", "Is the wrap dress linen too?", "dress")
        await say(page, "shopper", "Can I talk to a person?", "colleague")
        await say(page, "staff", "Hi Anna, Sam here! The shirt runs true to size.", "Anna")
        await page.locator("#owner-pane .quick button", has_text="/broadcast").first.click()
        await expect(page.locator("#owner-chat .msg.in")).to_have_count(1, timeout=15_000)
        await say(page, "owner", "New linen is in: 3 fresh colours this week!", "It reaches")
        await page.locator("#owner-chat .buttons button", has_text="now").last.click()
        # Where the bot asks to confirm before it sends: yes.
        confirm = page.locator("#owner-chat .msg.in").last.locator(".buttons button",
                                                                   has_text="Yes, send")
        sent = page.locator("#owner-chat .msg.in", has_text="finished")
        await expect(confirm.or_(sent).first).to_be_visible(timeout=15_000)
        if await confirm.count():
            await confirm.click()
        await expect(page.locator("#owner-chat .msg.in", has_text="finished")).to_be_visible(
            timeout=15_000)
        await page.wait_for_timeout(500)  # late photos settle
        out.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=out)
        await browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "docs" / "demo.png")
    asyncio.run(main(parser.parse_args().out))
