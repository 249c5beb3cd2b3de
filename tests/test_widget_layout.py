"""The widget on real shop pages: phone and desktop sizes, both corners, a sticky buy bar,
many chips, a keyboard shrinking the viewport, a site missing from KEFU_CORS_ORIGINS, and
quick replies that fit the page's product.

Headless Chromium (Playwright) against a live `uvicorn app:app` over the real model and index.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser_support import ask_widget, open_widget, screenshot, w
from tests.conftest import KNOWLEDGE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

PHONE = (390, 844, {"is_mobile": True, "has_touch": True})
DESKTOP = (1366, 900, {})
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
BAR_HEIGHT = 64
REFUSED_TEXT = "抱歉,本页面暂时无法使用在线客服,请通过其他方式(如客服电话)联系我们。"

# A shop page with a fixed buy bar along the bottom, as most mobile shops have.
SHOP = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>商品详情</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.6 sans-serif; background: #f5f5f5; }
  main { padding: 16px 16px 96px; } .pic { height: 420px; margin: 12px 0; background: #ddd; }
  #buybar { position: fixed; left: 0; right: 0; bottom: 0; z-index: 100; display: flex; gap: 8px;
    height: 64px; padding: 8px 12px; background: #fff; border-top: 1px solid #ddd; }
  #buybar button { flex: 1; border: 0; border-radius: 24px; color: #fff; font-size: 16px; }
  #buybar .cart { background: #ff9500; } #buybar .buy { background: #d4380d; }
</style></head>
<body><main><h1>商品详情</h1><div class="pic"></div><div class="pic"></div></main>
<div id="buybar"><button class="cart">加入购物车</button><button class="buy">立即购买</button></div>
<script src="{src}" {attrs} async></script></body></html>"""


def shop_html(src: str, **options: str) -> str:
    attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in options.items())
    return SHOP.replace("{src}", src).replace("{attrs}", attrs)


def open_shop(page, base_url: str, **options: str) -> None:
    """Load the shop page (on the live server's origin) with the widget's data- options."""
    body = shop_html("/widget.js", **options)
    page.route(
        base_url + "/shop",
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    page.goto(base_url + "/shop")
    w(page, ".bubble").wait_for(state="attached")


def inside(box: dict, width: float, height: float, tol: float = 0.5) -> bool:
    """The box lies wholly within (0, 0, width, height)."""
    return (
        box["x"] >= -tol
        and box["y"] >= -tol
        and box["x"] + box["width"] <= width + tol
        and box["y"] + box["height"] <= height + tol
    )


def within(box: dict, outer: dict) -> bool:
    moved = {**box, "x": box["x"] - outer["x"], "y": box["y"] - outer["y"]}
    return inside(moved, outer["width"], outer["height"])


# The element itself is what a tap at its centre hits: nothing covers it.
RECEIVES_CLICKS = """e => {
  const r = e.getBoundingClientRect();
  const hit = e.getRootNode().elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return !!hit && (hit === e || e.contains(hit));
}"""

# The log shows its last line (within a pixel or two of the end).
AT_BOTTOM = """() => {
  const log = document.querySelector('#kefu-widget').shadowRoot.querySelector('.log');
  return log.scrollHeight - log.scrollTop - log.clientHeight < 2;
}"""


def receives_clicks(locator) -> bool:
    return locator.evaluate(RECEIVES_CLICKS)


# -- layout: both corners, phone and desktop, a sticky buy bar ------------------------------
@pytest.mark.parametrize("position", ["right", "left"])
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_control_is_on_screen_and_the_bubble_clears_the_buy_bar(
    live_server, new_page, viewport, position
):
    width, height, kw = VIEWPORTS[viewport]
    page = new_page(width, height, **kw)
    open_shop(page, live_server, brand="oppo", position=position, offset="80")
    bar = page.locator("#buybar").bounding_box()
    assert bar["height"] == pytest.approx(BAR_HEIGHT)

    bubble = w(page, ".bubble")
    b = bubble.bounding_box()
    assert inside(b, width, height)
    assert b["y"] + b["height"] == pytest.approx(height - 20 - 80, abs=1)  # data-offset=80
    assert b["y"] + b["height"] <= bar["y"]  # not on the buy bar
    assert (b["x"] + b["width"] / 2 < width / 2) == (position == "left")
    assert receives_clicks(bubble)
    screenshot(page, f"widget-layout-{viewport}-{position}-closed")

    bubble.click()
    panel = w(page, ".panel")
    expect(panel).to_be_visible()
    p = panel.bounding_box()
    if viewport == "phone":  # full screen in either corner: the offset does not apply
        assert p == pytest.approx({"x": 0, "y": 0, "width": width, "height": height}, abs=1)
    else:
        assert inside(p, width, height) and p["y"] + p["height"] <= bar["y"]
        assert (p["x"] + p["width"] / 2 < width / 2) == (position == "left")
    for selector in (".close", ".handoff", ".send", "textarea"):
        control = w(page, selector)
        assert inside(control.bounding_box(), width, height), selector
        assert receives_clicks(control), selector

    chips = w(page, ".chip")
    expect(chips).to_have_count(4)
    row = w(page, ".chips").bounding_box()
    for i in range(chips.count()):
        chip = chips.nth(i)
        box = chip.bounding_box()
        assert within(box, row) and inside(box, width, height), chip.inner_text()
        assert receives_clicks(chip), chip.inner_text()
        assert chip.evaluate("e => e.scrollWidth <= e.clientWidth"), chip.inner_text()  # whole
    screenshot(page, f"widget-layout-{viewport}-{position}-open")

    # The controls work where they are: 发送 sends, 关闭 closes.
    w(page, "textarea").fill("维修后换的配件保修多久?")
    w(page, ".send").click()
    expect(w(page, ".row.bot:not(.typing)")).to_have_count(2, timeout=60_000)
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)
    w(page, ".close").click()
    expect(panel).to_be_hidden()
    expect(bubble).to_be_visible()
    assert page.errors == []


def test_many_long_chips_wrap_and_the_rest_scroll_into_reach(live_server, new_page):
    width, height, kw = PHONE
    page = new_page(width, height, **kw)
    questions = [
        "手机屏幕碎了多久内要报修?",
        "维修后换的配件保修多久?",
        "在外地买的手机本地能保修吗?",
        "电池不耐用了能免费换吗?",
        "换屏、换电池要多少钱?",
        "维修会先报价吗?怕乱收费",
        "怎么查附近的服务中心?",
        "一个很长很长的问题:" + "保修期内屏幕出现绿线、闪屏、触摸失灵怎么处理" * 2,
    ]
    open_shop(page, live_server, brand="oppo", open="true", chips="|".join(questions))
    expect(w(page, ".panel")).to_be_visible()
    chips = w(page, ".chip")
    expect(chips).to_have_text(questions)
    row = w(page, ".chips")
    # More than two rows: the row scrolls, and it shows that it does (a part row peeks out).
    assert row.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    assert row.evaluate("e => e.scrollHeight > e.clientHeight")
    screenshot(page, "widget-layout-many-chips")
    for i in range(chips.count()):
        chip = chips.nth(i)
        chip.evaluate("e => e.scrollIntoView({block: 'nearest'})")
        assert within(chip.bounding_box(), row.bounding_box()), questions[i]
        assert receives_clicks(chip), questions[i]
    # A chip wider than the panel is cut short, with its whole text as its tooltip.
    longest = chips.nth(7)
    assert longest.bounding_box()["width"] <= row.bounding_box()["width"]
    expect(longest).to_have_attribute("title", questions[7])
    # The composer stays where it was.
    for selector in (".send", "textarea", ".close", ".handoff"):
        assert inside(w(page, selector).bounding_box(), width, height), selector


# -- the keyboard opens: the viewport gets shorter ------------------------------------------
def history(n: int) -> list[dict]:
    """A restored conversation long enough to scroll."""
    msgs = []
    for i in range(n):
        msgs.append({"r": "me", "t": f"第{i + 1}个问题:维修后换的配件保修多久?", "ts": 1})
        msgs.append({"r": "bot", "t": "维修更换的配件自更换之日起享受保修。" * 4, "ts": 1, "o": ""})
    return msgs


@pytest.mark.parametrize("viewport, shorter", [("phone", 480), ("desktop", 560)])
def test_the_log_stays_on_the_newest_message_when_the_viewport_shrinks(
    live_server, new_page, viewport, shorter
):
    width, height, kw = VIEWPORTS[viewport]
    page = new_page(width, height, **kw)
    key = f"kefu:{live_server}:oppo"
    state = {"sid": "layout-test-session", "msgs": history(8)}
    page.add_init_script(
        f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(state))})"
    )
    open_widget(page, live_server)  # the demo page's product
    expect(w(page, ".row.me")).to_have_count(8)
    ask_widget(page, "维修后换的配件保修多久?")
    page.wait_for_function(AT_BOTTOM, timeout=5_000)

    page.set_viewport_size({"width": width, "height": shorter})  # the keyboard opens
    if viewport == "phone":
        expect(w(page, ".panel")).to_have_css("height", f"{shorter}px")
    page.wait_for_function(AT_BOTTOM, timeout=5_000)
    log = w(page, ".log").bounding_box()
    newest = w(page, ".row.bot").last.bounding_box()
    assert newest["y"] + newest["height"] <= log["y"] + log["height"] + 1
    for selector in (".send", "textarea", ".close", ".handoff"):
        assert inside(w(page, selector).bounding_box(), width, shorter), selector
    screenshot(page, f"widget-layout-{viewport}-keyboard")

    # Someone reading older messages is left where they are.
    w(page, ".log").evaluate("e => { e.scrollTop = 0; }")
    page.wait_for_function(
        "() => document.querySelector('#kefu-widget').shadowRoot.querySelector('.log')"
        ".scrollTop === 0"
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.set_viewport_size({"width": width, "height": height})  # the keyboard closes
    page.set_viewport_size({"width": width, "height": shorter})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert w(page, ".log").evaluate("e => e.scrollTop") == 0


# -- a site whose origin the server does not allow ------------------------------------------
@pytest.fixture(scope="module")
def other_origin(live_server):
    """A shop on another loopback origin (another port), not in KEFU_CORS_ORIGINS."""
    body = shop_html(live_server + "/widget.js", brand="aupu", open="true").encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_refused_origin_tells_the_customer_and_the_site_owner(
    other_origin, live_server, live_dir, new_page
):
    width, height, kw = PHONE
    page = new_page(width, height, **kw)
    warnings = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(other_origin + "/shop")
    expect(w(page, ".panel")).to_be_visible()  # data-open
    w(page, "textarea").fill("浴霸不热怎么办?")
    w(page, "textarea").press("Enter")
    expect(w(page, ".sys")).to_have_text([REFUSED_TEXT])
    expect(w(page, ".send")).to_be_enabled()
    w(page, ".handoff").click()
    expect(w(page, ".sys")).to_have_text([REFUSED_TEXT, REFUSED_TEXT])
    expect(w(page, ".log")).not_to_contain_text("网络连接失败")
    screenshot(page, "widget-layout-refused-origin")

    # The site owner's hint, in the console: which origin to add, and to what.
    hint = [t for t in warnings if "KEFU_CORS_ORIGINS" in t]
    assert len(hint) == 1 and other_origin in hint[0] and live_server in hint[0]
    # And the server's operator's, in its log.
    log = (live_dir / "server.log").read_text(encoding="utf-8")
    assert f"refused a cross-origin call from '{other_origin}'" in log
    assert page.errors == []


def test_a_network_failure_is_still_called_one(live_server, new_page):
    page = new_page()
    open_widget(page, live_server)
    # Nothing reaches the server, the probe included: not a CORS refusal.
    page.route(re.compile(r".*/(api/.*|healthz)$"), lambda route: route.abort())
    w(page, "textarea").fill("维修要多久?")
    w(page, "textarea").press("Enter")
    expect(w(page, ".sys").last).to_have_text("网络连接失败,请检查网络后重试。")


# -- quick replies for the page's product ---------------------------------------------------
def test_a_product_page_offers_that_products_questions(live_server, new_page):
    from bot.profile import load_profile

    heater = load_profile(KNOWLEDGE).product("aupu")
    width, height, kw = DESKTOP
    page = new_page(width, height, **kw)
    bodies = []
    page.on(
        "request",
        lambda r: r.url.endswith("/api/chat/stream") and bodies.append(r.post_data_json),
    )
    # The demo page takes the layout options from its address.
    page.goto(live_server + "/widget/demo?brand=aupu&position=left&offset=80")
    bubble = w(page, ".bubble").bounding_box()
    assert bubble["x"] < 40 and bubble["y"] + bubble["height"] == pytest.approx(height - 100)
    w(page, ".bubble").click()
    chips = w(page, ".chip")
    expect(chips).to_have_text(list(heater.suggestions))
    for text in chips.all_inner_texts():
        assert re.search("浴霸|奥普", text), text
    screenshot(page, "widget-layout-brand-chips")

    chips.filter(has_text="保修").first.click()
    expect(w(page, ".row.bot:not(.typing)")).to_have_count(2, timeout=60_000)
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)
    assert bodies[0]["brand"] == "aupu" and "保修" in bodies[0]["question"]
    answer = w(page, ".row.bot:not(.typing)").last
    expect(answer.locator(".src")).to_be_visible()  # answered from the knowledge...
    expect(w(page, ".note.escalated")).to_have_count(0)  # ...not handed off
    expect(w(page, ".sys.ticket")).to_have_count(0)

    # The same page for the other product offers that one's.
    phone = load_profile(KNOWLEDGE).product("oppo")
    other = new_page(width, height, **kw)
    open_widget(other, live_server, "/widget/demo?brand=oppo")
    expect(w(other, ".chip")).to_have_text(list(phone.suggestions))
