"""Browser-test support: a live kefu server in a subprocess and headless Chromium via Playwright.

Its fixtures are registered once, by tests/conftest.py; a test module imports only the
helpers. They build on `real_index` from tests/conftest.py, so the server answers from the real model and a real index.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.load import local_server
from tests.paths import KNOWLEDGE, MODEL_CACHE, ROOT

CHROMIUM = Path(os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
HEALTH_TIMEOUT_S = 120.0
TICKET_ID = r"KF-[A-Z0-9]{6}"


def require_chromium() -> None:
    """Skip without Chromium, except in CI, which installs it: there a missing browser fails."""
    if CHROMIUM.exists():
        return
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set KEFU_CHROMIUM)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium binary; requested first so a missing browser skips before the slow setup."""
    require_chromium()
    return CHROMIUM


@pytest.fixture(scope="session")
def live_dir(tmp_path_factory) -> Path:
    """The live server's folder: data/ (index copy), tickets.db (tickets and feedback), logs."""
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def live_server(chromium, real_index, live_dir) -> Iterator[str]:
    """`uvicorn app:app` on a free loopback port over a copy of the session index; yields its URL."""
    work = live_dir
    data = work / "data"
    # A private copy: the server writes its chat log, tickets and feedback beside the index,
    # and other tests keep the original open in this process.
    shutil.copytree(real_index, data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATA_DIR=str(data),
        KEFU_KNOWLEDGE_DIR=str(KNOWLEDGE),
        KEFU_MODEL_CACHE_DIR=str(MODEL_CACHE),
        KEFU_CHAT_LOG=str(work / "chat_log.jsonl"),
        KEFU_TICKETS_URL=f"sqlite:///{work / 'tickets.db'}",
        KEFU_RATE_LIMIT="1000/minute",  # every test talks from 127.0.0.1
        PYTHONPATH=str(ROOT),
        GRADIO_ANALYTICS_ENABLED="False",
    )
    with local_server(HEALTH_TIMEOUT_S, env=env, workdir=work) as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium):
    """One headless Chromium for the session; each test gets its own context (fresh profile)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """A factory for pages in fresh contexts (no storage shared between tests).

    Each page records dialogs and uncaught errors (`page.dialogs`, `page.errors`) so tests can
    assert that nothing alerted and nothing crashed.
    """
    contexts = []

    def make(width: int = 1280, height: int = 800, **kw):
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **kw)
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.dialogs = []
        page.errors = []

        def on_dialog(d):
            page.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def screenshot(page, name: str) -> Path:
    """Save a PNG under test-artifacts/screenshots/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# -- the widget -----------------------------------------------------------------------------
# Playwright's CSS locators pierce open shadow roots, so these reach inside the widget.
HOST = "#kefu-widget"


def w(page, selector: str = ""):
    """A locator inside the widget's shadow root."""
    return page.locator(f"{HOST} {selector}".strip())


def open_widget(page, base_url: str, path: str = "/widget/demo") -> None:
    """Load a page with the widget, wait for it to mount, and open the panel with the bubble."""
    page.goto(base_url + path)
    w(page, ".bubble").wait_for()
    if not w(page, ".panel").is_visible():
        w(page, ".bubble").click()
    w(page, ".panel").wait_for(state="visible")


def ask_widget(page, question: str):
    """Type a question, press Enter, and wait until the answer has arrived; returns its row."""
    from playwright.sync_api import expect

    answers = w(page, ".row.bot:not(.typing)")
    before = answers.count()
    box = w(page, "textarea")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(before + 1, timeout=60_000)
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)
    return answers.nth(before)
