"""A person takes over a conversation, seen from both sides in one real browser.

Two contexts of the session's headless Chromium against the live server: a customer in the
widget demo page and an agent in the console. The agent takes the ticket, replies live, the
bot keeps quiet while the agent holds the conversation, and answers again once handed back.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import statistics
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser_support import TICKET_ID, ask_widget, open_widget, screenshot, w

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

QUESTION = "OPPO手机屏幕碎了保修吗?"
WHILE_HELD = ["那换一块屏幕要多少钱?", "在吗?"]
AFTER_HANDBACK = "OPPO手机保修几年?"
# bot/messages.py: what the customer is told when a person joins, holds and leaves
TAKEN = "人工客服已接入,正在为您处理。"
HELD = "客服正在为您处理,您的消息已转给客服,请稍候。"
RETURNED = "人工客服已结束接待,如还有问题可以继续问我。"
REPLIES = 10
MEDIAN_LIMIT_S = 2.0
LIVE_MS = 10_000  # ceiling for anything a long poll delivers; the latency check is the tight one

# In-page clocks, so the latency is the browser's own and not Playwright's polling interval:
# the console notes when "发送给顾客" is clicked (capture phase, before the page's handler),
# the widget notes when an agent's text first enters its shadow DOM. Both read the same clock.
RECORD_SENDS = """() => {
  window.__sent = [];
  document.addEventListener("click", (e) => {
    if (e.target.closest('button[data-act="reply"]'))
      window.__sent.push([Date.now(), document.getElementById("reply").value.trim()]);
  }, true);
}"""
RECORD_SHOWN = """() => {
  const root = document.querySelector("#kefu-widget").shadowRoot;
  window.__shown = {};
  const look = () => {
    for (const m of root.querySelectorAll(".row.agent .who + .msg"))
      if (!(m.textContent in window.__shown)) window.__shown[m.textContent] = Date.now();
  };
  new MutationObserver(look).observe(root, {subtree: true, childList: true, characterData: true});
}"""
# The console transcript as (role, text, id): the role from the m-<role> class, the text
# without the "who · time" line and the citations.
TRANSCRIPT = """() => [...document.querySelectorAll("#msgs .msg")].map((e) => {
  const c = e.cloneNode(true);
  c.querySelectorAll(".who, .cite").forEach((x) => x.remove());
  return [e.className.replace(/^msg m-/, ""), c.textContent.trim(), e.dataset.id];
})"""


@pytest.fixture
def agent_account(live_server, live_dir) -> tuple[str, str]:
    """A fresh agent account in the live server's ticket database: (username, password)."""
    from bot.console.staff import StaffStore

    name, password = f"agent-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    StaffStore(f"sqlite:///{live_dir / 'tickets.db'}").add(name, password, "agent")
    return name, password


def log_in(page, base_url: str, name: str, password: str) -> None:
    page.goto(base_url + "/console/login")
    page.get_by_label("用户名", exact=True).fill(name)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(base_url + "/console")


def customer_says(page, text: str) -> None:
    """Type `text`, press Enter, and return once the server has answered (or stayed quiet)."""
    box = w(page, "textarea")
    box.fill(text)
    box.press("Enter")  # ask() marks the log busy before its first await
    expect(w(page, ".row.me .msg").last).to_have_text(text)
    expect(w(page, ".log")).to_have_attribute("aria-busy", "false", timeout=60_000)


def reopen_widget(page) -> None:
    page.reload()
    w(page, ".bubble").wait_for()
    if not w(page, ".panel").is_visible():
        w(page, ".bubble").click()
    w(page, ".panel").wait_for(state="visible")


def act(page, action: str):
    return page.locator(f'button[data-act="{action}"]')


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def test_an_agent_takes_over_replies_live_and_hands_back(live_server, new_page, agent_account):
    customer, agent = new_page(), new_page()  # two contexts: no cookies or storage shared

    # -- the customer asks, then asks for a person ------------------------------------------
    open_widget(customer, live_server)
    first = ask_widget(customer, QUESTION)
    expect(first.locator(".msg")).not_to_have_text("")
    w(customer, "button.handoff").click()
    expect(w(customer, ".sys.ticket")).to_have_text(re.compile(TICKET_ID))
    ticket = re.search(TICKET_ID, w(customer, ".sys.ticket").inner_text()).group()

    # -- the agent finds it in the inbox and takes it ---------------------------------------
    log_in(agent, live_server, *agent_account)
    link = agent.get_by_role("link", name=ticket, exact=True)
    expect(link).to_be_visible()
    screenshot(agent, "console-inbox")
    link.click()
    expect(agent).to_have_url(f"{live_server}/console/t/{ticket}")
    expect(agent.locator("#msgs .m-customer").first).to_contain_text(QUESTION)
    expect(agent.locator("#draft-note")).to_contain_text("以下是机器人草稿")
    expect(agent.locator("#reply")).not_to_have_value("")  # the draft, not sent by itself
    act(agent, "take").click()  # the page reloads with the conversation held
    expect(act(agent, "handback")).to_be_visible()
    expect(agent.locator("main h1")).to_contain_text("正在接待")
    expect(w(customer, ".sys").filter(has_text=TAKEN)).to_have_count(1, timeout=LIVE_MS)

    # -- the agent's replies reach the widget live, each once --------------------------------
    agent.evaluate(RECORD_SENDS)
    customer.evaluate(RECORD_SHOWN)
    from_agent = w(customer, ".row.agent .who + .msg")
    sent: list[str] = []
    waited: list[float] = []
    for i in range(REPLIES):
        text = f"您好,我是人工客服,第 {i + 1} 条回复:屏幕碎裂属于人为损坏,不在免费保修范围。"
        agent.locator("#reply").fill(text)
        t0 = time.monotonic()
        act(agent, "reply").click()
        sent.append(text)
        expect(from_agent).to_have_text(sent, timeout=LIVE_MS)
        waited.append(time.monotonic() - t0)
        expect(agent.locator("#msgs .m-agent")).to_have_count(len(sent))
    expect(w(customer, ".row.agent .who")).to_have_text(["人工客服"] * REPLIES)
    clicks = agent.evaluate("window.__sent")
    shown = customer.evaluate("window.__shown")
    assert [t for _, t in clicks] == sent
    latencies = [(shown[t] - at) / 1000 for at, t in clicks]
    print(
        f"\nagent reply -> widget ({REPLIES} replies): median {statistics.median(latencies):.3f} s,"
        f" p95 {p95(latencies):.3f} s, max {max(latencies):.3f} s"
        f" (as the test saw it: median {statistics.median(waited):.3f} s, p95 {p95(waited):.3f} s)"
    )
    assert statistics.median(latencies) < MEDIAN_LIMIT_S, latencies
    screenshot(customer, "widget-agent-reply")

    # -- while the agent holds it, the customer's words reach the agent and the bot is quiet ---
    bot_answers = w(customer, ".row.bot:not(.typing)").filter(has_not=customer.locator(".who"))
    before = bot_answers.count()
    customer_says(customer, WHILE_HELD[0])
    expect(agent.locator("#msgs .m-customer").last).to_contain_text(WHILE_HELD[0], timeout=LIVE_MS)
    expect(bot_answers).to_have_count(before + 1)  # only the "a person has your message" line
    expect(bot_answers.last.locator(".msg")).to_have_text(HELD)
    customer_says(customer, WHILE_HELD[1])
    expect(agent.locator("#msgs .m-customer").last).to_contain_text(WHILE_HELD[1], timeout=LIVE_MS)
    expect(bot_answers).to_have_count(before + 1)  # the reply has arrived: nothing shown for it
    agent.evaluate("window.scrollTo(0, 0)")  # clicking 发送 scrolled the page to the button
    screenshot(agent, "console-ticket")

    # -- handed back, the bot answers again --------------------------------------------------
    act(agent, "handback").click()
    expect(act(agent, "take")).to_be_visible()
    expect(agent.locator("main h1")).to_contain_text("机器人接待中")
    expect(w(customer, ".sys").filter(has_text=RETURNED)).to_have_count(1, timeout=LIVE_MS)
    answer = ask_widget(customer, AFTER_HANDBACK)
    expect(answer.locator(".who")).to_have_count(0)  # the bot's, not a person's
    expect(answer.locator(".msg")).not_to_have_text(re.compile(r"^$|客服正在为您处理"))
    expect(answer.locator(".note")).to_have_count(0)  # answered: not escalated, clarify, refused
    expect(answer.locator(".fb")).to_be_visible()
    expect(agent.locator("#msgs .msg").last).to_have_class("msg m-bot", timeout=LIVE_MS)

    # -- after a reload: the widget keeps each reply once, the console the whole transcript ----
    reopen_widget(customer)
    expect(from_agent).to_have_text(sent)
    expect(w(customer, ".row.me .msg")).to_have_text([QUESTION, *WHILE_HELD, AFTER_HANDBACK])
    expect(w(customer, ".sys").filter(has_text=TAKEN)).to_have_count(1)
    expect(w(customer, ".sys").filter(has_text=RETURNED)).to_have_count(1)
    expect(w(customer, ".sys.ticket")).to_contain_text(ticket)

    agent.reload()
    expect(agent.locator("#msgs .msg").last).to_have_class("msg m-bot")
    transcript = agent.evaluate(TRANSCRIPT)
    assert len({i for _, _, i in transcript}) == len(transcript), "a message is shown twice"
    roles = [r for r, _, _ in transcript]
    assert roles == [
        *["customer", "bot", "bot"],  # the question, the answer, the handoff's reply
        *["notice"] + ["agent"] * REPLIES,
        *["customer", "bot", "customer"],  # held: one notice for the stretch, then quiet
        *["notice", "customer", "bot"],
    ], transcript
    texts = [t for _, t, _ in transcript]
    assert texts[0] == QUESTION and texts[3] == TAKEN
    assert texts[4 : 4 + REPLIES] == sent
    assert texts[4 + REPLIES :][:4] == [WHILE_HELD[0], HELD, WHILE_HELD[1], RETURNED]
    assert texts[-2] == AFTER_HANDBACK and texts[-1] and texts[-1] != HELD

    # The reloaded widget listens from where it left off: a new reply arrives, nothing repeats.
    last = "还有其他问题随时联系我们。"
    agent.locator("#reply").fill(last)
    act(agent, "reply").click()  # replying takes the conversation again; the page reloads
    expect(act(agent, "handback")).to_be_visible()
    expect(from_agent).to_have_text([*sent, last], timeout=LIVE_MS)
    expect(w(customer, ".sys").filter(has_text=TAKEN)).to_have_count(2)

    for page in (customer, agent):
        assert page.errors == [] and page.dialogs == []
