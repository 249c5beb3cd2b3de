"""What a customer sees in a real browser: the embeddable widget and the Gradio UI at /.

Headless Chromium (Playwright) against a live `uvicorn app:app` over the real model and index.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.browser_support import TICKET_ID, ask_widget, open_widget, screenshot, w

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

QUESTION = "OPPO 售后电话是多少?"


def feedback_ratings(live_dir) -> dict[str, str]:
    """turn_id -> rating, as the live server stored them."""
    with sqlite3.connect(live_dir / "tickets.db") as db:
        return dict(db.execute("SELECT turn_id, rating FROM feedback"))


def shadow_eval(page, expr: str):
    """Evaluate `expr` with `root` bound to the widget's shadow root."""
    return page.evaluate(
        f"() => {{ const root = document.querySelector('#kefu-widget').shadowRoot; return {expr}; }}"
    )


# -- widget -------------------------------------------------------------------------------
def test_widget_answers_with_sources_and_keeps_the_conversation_after_reload(live_server, new_page):
    page = new_page()
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto(live_server + "/widget/demo")
    w(page, ".bubble").wait_for()
    expect(w(page, ".panel")).to_be_hidden()
    screenshot(page, "widget-desktop-closed")

    w(page, ".bubble").click()
    # the demo page names no assistant: the company profile's name is the default
    expect(w(page, '[role="dialog"]')).to_have_attribute("aria-label", "kefu 售后助手")
    expect(w(page, ".chip").first).to_have_text("OPPO 售后电话是多少?")  # profile suggestion
    answer = ask_widget(page, QUESTION)
    expect(answer.locator(".msg")).to_contain_text("400")
    assert posts == [live_server + "/api/chat/stream"]  # streamed, no fallback

    sources = answer.locator(".src")
    expect(sources.locator("summary").first).to_contain_text("参考来源")
    sources.locator("summary").first.click()
    first = sources.locator("li").first
    expect(first.locator("summary")).to_contain_text("[1] OPPO")
    first.locator("summary").click()
    expect(first.locator("blockquote")).to_be_visible()
    expect(first.locator("blockquote")).to_contain_text("400")
    first.locator("blockquote").scroll_into_view_if_needed()
    screenshot(page, "widget-desktop-open")
    text = answer.locator(".msg").inner_text()

    page.reload()
    w(page, ".bubble").click()
    expect(w(page, ".row.me .msg")).to_have_text([QUESTION])
    restored = w(page, ".row.bot").last
    expect(restored.locator(".msg")).to_have_text(text)
    expect(restored.locator(".src summary").first).to_contain_text("参考来源")
    assert not page.errors


def test_widget_feedback_is_recorded(live_server, live_dir, new_page):
    page = new_page()
    open_widget(page, live_server)
    answer = ask_widget(page, "维修后换的配件保修多久?")
    up, down = answer.locator(".fb button").all()
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(w(page, ".sys").last).to_have_text("感谢您的反馈!")
    ratings = feedback_ratings(live_dir)
    turn = next(t for t in ratings if ratings[t] == "up")
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    assert feedback_ratings(live_dir)[turn] == "down"


def test_widget_handoff_shows_the_ticket_id(live_server, new_page):
    page = new_page()
    open_widget(page, live_server)
    # A quick-reply chip asks its question straight away.
    # (the chips are the company profile's suggestions: knowledge/kefu.yaml)
    w(page, ".chip").filter(has_text="手机屏幕碎了多久内要报修?").click()
    expect(w(page, ".row.me .msg")).to_have_text(["手机屏幕碎了多久内要报修?"])
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)

    w(page, "button.handoff").click()
    ticket = w(page, ".sys.ticket")
    expect(ticket).to_have_text(re.compile(TICKET_ID))
    ticket_id = re.search(TICKET_ID, ticket.inner_text()).group()

    page.reload()
    w(page, ".bubble").click()
    expect(w(page, ".sys.ticket")).to_contain_text(ticket_id)  # kept with the conversation


def test_widget_renders_hostile_markup_as_text_and_runs_nothing(live_server, new_page):
    page = new_page()
    open_widget(page, live_server)
    hostile = "屏幕碎了 <img src=x onerror=alert(1)> <script>window.__pwned=1</script>"
    ask_widget(page, hostile)
    expect(w(page, ".row.me .msg")).to_have_text([hostile])
    assert shadow_eval(page, "root.querySelectorAll('img, script').length") == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.reload()  # and again when the history is restored from localStorage
    w(page, ".bubble").click()
    expect(w(page, ".row.me .msg")).to_have_text([hostile])
    assert shadow_eval(page, "root.querySelectorAll('img, script').length") == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == [] and page.errors == []


def test_widget_survives_hostile_page_css(live_server, new_page):
    page = new_page()
    page.goto(live_server + "/widget/demo")
    w(page, ".bubble").wait_for()
    # `*` also matches <html> and <body>, and nothing inside a display:none body can render,
    # the widget included; so the page root is put back and everything else stays hostile.
    page.add_style_tag(
        content="* { display: none !important; color: red !important; font-size: 3px !important }"
        " html, body { display: block !important }"
        " div { opacity: 0 !important; visibility: hidden !important; position: static !important;"
        " transform: translateX(-5000px) !important; z-index: -1 !important }"
    )
    bubble = w(page, ".bubble")
    expect(bubble).to_be_visible()
    box = bubble.bounding_box()
    assert box["width"] > 40 and box["x"] > 1000 and box["y"] > 600  # still bottom right
    bubble.click()
    expect(w(page, ".panel")).to_be_visible()
    expect(w(page, ".title")).to_be_visible()
    for selector in (".title", ".row.bot .msg", ".chip", ".send"):
        color = w(page, selector).first.evaluate("e => getComputedStyle(e).color")
        assert color != "rgb(255, 0, 0)", selector
    size = w(page, ".row.bot .msg").first.evaluate("e => getComputedStyle(e).fontSize")
    assert size == "14px"
    # The host's own inline !important styles beat the page's author !important rules.
    host = page.locator("#kefu-widget").evaluate(
        "e => [getComputedStyle(e).display, getComputedStyle(e).visibility, getComputedStyle(e).opacity]"
    )
    assert host == ["block", "visible", "1"]
    ask_widget(page, QUESTION)


def test_widget_is_full_screen_on_a_phone(live_server, new_page):
    page = new_page(375, 667, is_mobile=True, has_touch=True)
    open_widget(page, live_server)
    box = w(page, ".panel").bounding_box()
    assert box == pytest.approx({"x": 0, "y": 0, "width": 375, "height": 667}, abs=1)
    expect(w(page, ".bubble")).to_be_hidden()  # under the panel: the header's close button closes
    ask_widget(page, "维修后换的配件保修多久?")
    screenshot(page, "widget-mobile")
    w(page, ".close").click()
    expect(w(page, ".panel")).to_be_hidden()
    expect(w(page, ".bubble")).to_be_visible()


def test_widget_keyboard_enter_sends_shift_enter_breaks_esc_closes(live_server, new_page):
    page = new_page()
    page.goto(live_server + "/widget/demo")
    bubble = w(page, ".bubble")
    bubble.focus()
    page.keyboard.press("Enter")
    expect(w(page, ".panel")).to_be_visible()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    expect(w(page, "textarea")).to_be_focused()  # focus lands in the input

    page.keyboard.type("屏幕碎了")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("怎么保修?")
    expect(w(page, "textarea")).to_have_value("屏幕碎了\n怎么保修?")
    expect(w(page, ".row.me")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(w(page, ".row.me .msg")).to_have_text(["屏幕碎了\n怎么保修?"])
    expect(w(page, "textarea")).to_have_value("")
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)

    page.keyboard.press("Escape")
    expect(w(page, ".panel")).to_be_hidden()
    expect(bubble).to_be_focused()
    expect(bubble).to_have_attribute("aria-expanded", "false")


def test_widget_falls_back_without_streaming_and_shows_api_errors(live_server, new_page):
    page = new_page()
    open_widget(page, live_server)
    # No streaming endpoint (an older server): the widget asks /api/chat instead.
    page.route(
        "**/api/chat/stream",
        lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"error": "接口不存在。"}'
        ),
    )
    answer = ask_widget(page, QUESTION)
    expect(answer.locator(".msg")).to_contain_text("400")
    expect(answer.locator(".src")).to_be_visible()

    # Rate limited: the server's message shows as a system note and the input stays usable.
    page.unroute("**/api/chat/stream")
    limited = json.dumps({"error": "请求太频繁,请稍后再试。"}, ensure_ascii=False)
    page.route(
        re.compile(r".*/api/chat(/stream)?$"),
        lambda route: route.fulfill(status=429, content_type="application/json", body=limited),
    )
    w(page, "textarea").fill("维修要多久?")
    w(page, "textarea").press("Enter")
    expect(w(page, ".sys").last).to_have_text("请求太频繁,请稍后再试。")
    expect(w(page, ".send")).to_be_enabled()

    # A stream that reports an error event mid-way shows that message too.
    page.unroute(re.compile(r".*/api/chat(/stream)?$"))
    body = 'event: error\ndata: {"error": "服务内部错误,请稍后再试。", "status": 500}\n\n'
    page.route(
        "**/api/chat/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    w(page, "textarea").fill("维修要多久?")
    w(page, "textarea").press("Enter")
    expect(w(page, ".sys").last).to_have_text("服务内部错误,请稍后再试。")
    assert page.errors == []


OPTIONS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>shop</title></head>
<body><h1>奥普旗舰店</h1>
<script src="/widget.js" data-brand="AUPU" data-title="奥普客服" data-color="{color}"
  data-position="left" data-open="true" data-greeting="欢迎光临奥普!"
  data-chips="浴霸不热怎么办?| 安装收费吗? |"></script></body></html>"""


@pytest.mark.parametrize(
    "color, background, text",
    [
        ("#c00", "rgb(204, 0, 0)", "rgb(255, 255, 255)"),  # dark accent: white text
        ("red;} :host{display:none", "rgb(7, 193, 96)", "rgb(17, 17, 17)"),  # junk: the default
        ("transparent", "rgb(7, 193, 96)", "rgb(17, 17, 17)"),
    ],
)
def test_widget_data_options(live_server, new_page, color, background, text):
    page = new_page()
    html = OPTIONS_PAGE.replace("{color}", color.replace('"', "&quot;"))
    page.route(
        live_server + "/shop",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    bodies = []
    page.on(
        "request",
        lambda r: r.url.endswith("/api/chat/stream") and bodies.append(r.post_data_json),
    )
    page.goto(live_server + "/shop")
    panel = w(page, ".panel")
    expect(panel).to_be_visible()  # data-open
    expect(w(page, '[role="dialog"]')).to_have_attribute("aria-label", "奥普客服")
    expect(w(page, ".title")).to_have_text("奥普客服")
    expect(w(page, ".row.bot .msg").first).to_have_text("欢迎光临奥普!")
    expect(w(page, ".chip")).to_have_text(["浴霸不热怎么办?", "安装收费吗?"])
    assert w(page, ".bubble").bounding_box()["x"] < 40  # data-position=left
    assert panel.bounding_box()["x"] < 40
    styles = w(page, ".bubble").evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
    )
    assert styles == [background, text]
    assert page.evaluate("window.KefuWidget.version")

    w(page, ".chip").first.click()
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)
    assert bodies[0]["brand"] == "aupu" and bodies[0]["question"] == "浴霸不热怎么办?"
    assert re.fullmatch(r"[0-9a-f-]{32,36}", bodies[0]["session_id"])

    page.evaluate("window.KefuWidget.close()")
    expect(panel).to_be_hidden()
    page.evaluate("window.KefuWidget.open()")
    expect(panel).to_be_visible()
    # The only global is the namespace.
    assert page.evaluate("Object.keys(window).filter(k => /kefu/i.test(k))") == ["KefuWidget"]


# -- Gradio UI at / -------------------------------------------------------------------------
GRADIO_PLACEHOLDER = "请输入您的售后问题…"

# Records every text the last bot message shows, so a test can tell a streamed answer
# (placeholder, partial text, final) from one that arrived in one piece.
WATCH_BOT_TEXTS = """() => {
  window.__botTexts = [];
  const seen = () => {
    const bots = document.querySelectorAll('[data-testid="bot"]');
    const text = bots.length ? bots[bots.length - 1].innerText.trim() : "";
    const all = window.__botTexts;
    if (text && all[all.length - 1] !== text) all.push(text);
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def gradio_ask(page, base_url: str, question: str):
    """Open the Gradio UI, ask `question` with Enter, and return the answer's message locator."""
    page.goto(base_url + "/")
    box = page.get_by_placeholder(GRADIO_PLACEHOLDER)
    box.wait_for()
    page.evaluate(WATCH_BOT_TEXTS)
    box.fill(question)
    box.press("Enter")
    answer = page.locator('[data-testid="bot"]').last
    expect(answer).to_contain_text("来源", timeout=60_000)  # the final render carries sources
    return answer


def test_gradio_streams_an_answer_with_its_sources(live_server, new_page):
    page = new_page(1280, 900)
    answer = gradio_ask(page, live_server, QUESTION)
    expect(answer).to_contain_text("400")
    expect(page.locator('[data-testid="user"]').last).to_contain_text(QUESTION)
    texts = page.evaluate("window.__botTexts")
    assert len(texts) >= 2, texts  # shown before it was complete: streamed
    screenshot(page, "gradio-answer")
    answer.get_by_text("来源").first.click()
    expect(answer.locator("blockquote").first).to_be_visible()
    expect(answer.locator("li").first).to_contain_text("OPPO 售后服务热线")
    assert page.errors == []


def test_gradio_handoff_button_shows_a_ticket_id(live_server, new_page):
    page = new_page(1280, 900)
    gradio_ask(page, live_server, "屏幕碎了怎么保修?")
    page.get_by_role("button", name="转人工", exact=True).click()
    expect(page.locator('[data-testid="bot"]').last).to_contain_text(
        re.compile(TICKET_ID), timeout=30_000
    )


def test_gradio_thumbs_up_and_down_are_recorded(live_server, live_dir, new_page):
    page = new_page(1280, 900)
    gradio_ask(page, live_server, "维修后换的配件保修多久?")
    before = feedback_ratings(live_dir)

    def new_rating():
        now = feedback_ratings(live_dir)
        return {t: r for t, r in now.items() if t.startswith("ui:") and before.get(t) != r}

    # Gradio labels the thumbs in the browser's language: 赞 / 踩 under zh-CN.
    page.get_by_role("button", name="赞", exact=True).last.click()
    _wait_for(lambda: list(new_rating().values()) == ["up"])
    page.get_by_role("button", name="踩", exact=True).last.click()
    _wait_for(lambda: list(new_rating().values()) == ["down"])


def _wait_for(condition, timeout_s: float = 15.0) -> None:
    """Poll `condition` (the Gradio like event is fire-and-forget from the page's side)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
