"""The Gradio chat at / as a customer sees it on a phone (390x844) and a laptop (1366x900).

Headless Chromium (Playwright) against a live `uvicorn app:app` over the real model and index:
the greeting opens the chat, example questions are asked at a click, the input row stays on
screen, and nothing covers the conversation once it scrolls. Screenshots land in
test-artifacts/screenshots/gradio-ui-*.png.
"""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from playwright.sync_api import expect

from tests.browser_support import TICKET_ID, screenshot
from tests.conftest import KNOWLEDGE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

PHONE = (390, 844)
LAPTOP = (1366, 900)
VIEWPORTS = pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=lambda s: f"{s[0]}x{s[1]}")
PLACEHOLDER = "请输入您的售后问题…"
BOT = '[data-testid="bot"]'
USER = '[data-testid="user"]'
# Asked in turn until the chat scrolls; each names its product, so each is answered with sources.
QUESTIONS = [
    "OPPO 售后电话是多少?",
    "OPPO 手机维修后换的配件保修多久?",
    "OPPO 手机怎么投诉?",
    "OPPO 手机维修要多久?",
]


def profile():
    from bot.profile import load_profile

    return load_profile(KNOWLEDGE)


@pytest.fixture
def chat(live_server, new_page):
    """`chat(size)`: a fresh page at that viewport size with the chat loaded."""

    def open_chat(size: tuple[int, int]):
        page = new_page(*size)
        page.goto(live_server + "/")
        page.get_by_placeholder(PLACEHOLDER).wait_for()
        expect(page.locator(BOT).first).to_be_visible()
        return page

    return open_chat


def ask(page, question: str):
    """Type `question`, press Enter, and return the answer once its sources are shown."""
    before = page.locator(BOT).count()
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill(question)
    box.press("Enter")
    expect(page.locator(BOT)).to_have_count(before + 1, timeout=60_000)
    answer = page.locator(BOT).nth(before)
    expect(answer).to_contain_text("来源", timeout=60_000)  # the final render carries sources
    return answer


def rect(page, selector: str) -> dict | None:
    """The element's bounding box in viewport coordinates (None if absent or not rendered)."""
    return page.evaluate(
        """(sel) => { const el = document.querySelector(sel); if (!el) return null;
          const r = el.getBoundingClientRect();
          return r.width && r.height ? {x: r.x, y: r.y, width: r.width, height: r.height} : null; }""",
        selector,
    )


def intersects(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def inside(box: dict, width: int, height: int) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and box["y"] + box["height"] <= height
    )


def feedback_ratings(live_dir) -> dict[str, str]:
    """turn_id -> rating, as the live server stored them."""
    with sqlite3.connect(live_dir / "tickets.db") as db:
        return dict(db.execute("SELECT turn_id, rating FROM feedback"))


def wait_for(condition, timeout_s: float = 15.0):
    """Poll `condition` until it returns something truthy (the like event is fire-and-forget)."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
    return result


@VIEWPORTS
def test_the_chat_opens_with_the_greeting(chat, size):
    greeting = profile().greeting
    assert greeting
    page = chat(size)
    expect(page.locator(BOT)).to_have_count(1)
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(BOT).first).to_contain_text(greeting)
    # No label over the chat, and no thumbs on a greeting that answers nothing.
    expect(page.locator('#kefu-chat [data-testid="block-label"]')).to_have_count(0)
    expect(page.get_by_role("button", name="赞", exact=True)).to_have_count(0)
    screenshot(page, f"gradio-ui-greeting-{size[0]}x{size[1]}")
    assert page.errors == []


@VIEWPORTS
def test_an_example_question_is_asked_at_a_click(chat, live_dir, size):
    question = profile().suggestions[0]
    page = chat(size)
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill("还没写完")
    page.locator("#kefu-examples").get_by_role("button", name=question).click()
    expect(page.locator(USER)).to_have_count(1)
    expect(page.locator(USER).first).to_contain_text(question)
    answer = page.locator(BOT).nth(1)
    expect(answer).to_contain_text("来源", timeout=60_000)
    expect(answer).to_contain_text("400")
    answer.get_by_text("来源").first.click()
    expect(answer.locator("li").first).to_be_visible()
    expect(box).to_have_value("还没写完")  # the example is asked; what was typed stays put
    screenshot(page, f"gradio-ui-example-{size[0]}x{size[1]}")

    # The greeting was no turn: the answer is the session's first, and its thumbs rate it.
    before = feedback_ratings(live_dir)
    page.get_by_role("button", name="赞", exact=True).last.click()
    rated = wait_for(
        lambda: {
            t: r
            for t, r in feedback_ratings(live_dir).items()
            if t.startswith("ui:") and before.get(t) != r
        }
    )
    assert list(rated.values()) == ["up"] and next(iter(rated)).endswith(":1"), rated
    assert page.errors == []


@VIEWPORTS
def test_the_input_row_is_on_screen_without_scrolling(chat, size):
    page = chat(size)
    width, height = size
    box = page.get_by_placeholder(PLACEHOLDER)
    send = page.get_by_role("button", name="发送", exact=True)
    human = page.get_by_role("button", name="转人工", exact=True)

    def check(when: str) -> None:
        assert page.evaluate("window.scrollY") == 0, when
        for name, control in (("input", box), ("发送", send), ("转人工", human)):
            bb = control.bounding_box()
            assert bb and inside(bb, width, height), (when, name, bb)
            # What a tap at its centre reaches is the control itself, not something over it.
            hit = page.evaluate(
                """([x, y]) => { const el = document.elementFromPoint(x, y)
                  ?.closest('button, textarea');
                  return el ? el.placeholder || el.textContent.trim() : null; }""",
                [bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2],
            )
            assert hit == (PLACEHOLDER if name == "input" else name), (when, name, hit)
        row = [c.bounding_box() for c in (box, send, human)]
        # One row: the buttons sit beside the input, not under it.
        assert all(abs(b["y"] - row[0]["y"]) < row[0]["height"] for b in row), row

    check("on load")
    for question in QUESTIONS[:2]:
        ask(page, question)
    check("after two answers")  # the chat scrolls inside itself; the page stays put
    screenshot(page, f"gradio-ui-input-{size[0]}x{size[1]}")

    box.fill("奥普浴霸怎么预约安装?")
    send.click()
    expect(page.locator(BOT)).to_have_count(4, timeout=60_000)
    expect(page.locator(BOT).last).to_contain_text("来源", timeout=60_000)
    human.click()
    expect(page.locator(BOT).last).to_contain_text(re.compile(TICKET_ID), timeout=30_000)
    check("after the handoff")
    assert page.errors == []


@VIEWPORTS
def test_nothing_covers_the_conversation_once_it_scrolls(chat, size):
    page = chat(size)
    for question in QUESTIONS:
        ask(page, question)
    log = '#kefu-chat [role="log"]'
    scrolled = page.evaluate(
        "(sel) => { const el = document.querySelector(sel);"
        " return [el.scrollHeight, el.clientHeight, el.scrollTop]; }",
        log,
    )
    assert scrolled[0] > scrolled[1] and scrolled[2] > 0, scrolled  # the chat has scrolled

    covers = [
        r
        for r in (
            rect(page, '#kefu-chat [data-testid="block-label"]'),
            rect(page, "#kefu-chat .top-panel"),
        )
        if r
    ]
    assert covers, "the chat's toolbar (clear) was not found"
    view = rect(page, log)
    # At the bottom (where an answer leaves it), halfway, and wherever the top lands mid-line.
    for top in (scrolled[2], scrolled[2] // 2, scrolled[2] // 3 + 7):
        page.evaluate(
            "([sel, top]) => { document.querySelector(sel).scrollTop = top; }", [log, top]
        )
        page.wait_for_timeout(100)
        lines = page.evaluate(
            """([sel, msg]) => { const view = document.querySelector(sel).getBoundingClientRect();
              const out = [];
              for (const m of document.querySelectorAll(msg)) {
                for (const r of m.getClientRects()) {
                  const top = Math.max(r.top, view.top), bottom = Math.min(r.bottom, view.bottom);
                  if (bottom > top) out.push({x: r.x, y: top, width: r.width, height: bottom - top});
                }
              }
              return out; }""",
            [log, f"{BOT}, {USER}"],
        )
        assert lines, top
        first = min(lines, key=lambda r: r["y"])
        assert first["y"] >= view["y"] - 0.5, (top, first, view)
        for cover in covers:
            assert not intersects(first, cover), (top, first, cover)
            assert all(not intersects(line, cover) for line in lines), (top, cover)
    # Left where the top of the log cuts through a message: the toolbar sits above that cut.
    screenshot(page, f"gradio-ui-scrolled-{size[0]}x{size[1]}")

    # Clearing the chat starts it afresh, with the greeting back.
    page.get_by_role("button", name="清空对话").click()
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(BOT)).to_have_count(1)
    expect(page.locator(BOT).first).to_contain_text(profile().greeting)
    assert page.errors == []
