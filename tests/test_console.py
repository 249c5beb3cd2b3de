"""The agent console over the real bot: logins, who may do what, the inbox, live replies in the
customer's conversation, the bot's silence while a person holds it, and answers saved as FAQs."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import time
import uuid
from unittest import mock

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KNOWLEDGE, PYTHON, ROOT

pytestmark = pytest.mark.slow

PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-22", "root": "root-pass-333"}


def sid() -> str:
    return f"c-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def desk_env(real_bot, tmp_path_factory):
    """A bot on its own ticket database and knowledge copy (saved FAQs land there), sharing the
    session's real index and model."""
    from bot.chain import Kefu
    from bot.console.staff import StaffStore
    from bot.conversations import ConversationStore
    from bot.tickets.store import TicketStore

    d = tmp_path_factory.mktemp("console")
    knowledge = d / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    settings = real_bot.settings.model_copy(
        update={
            "data_dir": d,
            "knowledge_dir": knowledge,
            "tickets_url": f"sqlite:///{d / 'tickets.db'}",
            "rate_limit": "100000/minute",
        }
    )
    tickets = TicketStore(settings.tickets_db_url, outbox=False)
    bot = Kefu(
        settings,
        real_bot.retriever,
        real_bot.corpus,
        tickets=tickets,
        conversations=ConversationStore(tickets.engine),
        sensitive=real_bot.sensitive,
        screen=real_bot.screen,
    )
    staff = StaffStore(settings.tickets_db_url)
    staff.add("alice", PASSWORDS["alice"], "agent")
    staff.add("bob", PASSWORDS["bob"], "agent")
    staff.add("root", PASSWORDS["root"], "admin")
    return settings, bot


@pytest.fixture(scope="module")
def app(desk_env):
    from bot.web.server import create_app

    settings, bot = desk_env
    application = create_app(settings, bot=bot, ui=False)
    with TestClient(application):  # runs the lifespan once: the runtime holds the bot
        yield application


@pytest.fixture(scope="module")
def customer(app):
    return TestClient(app)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(app, user: str, password: str | None = None) -> tuple[TestClient, str]:
    """A fresh browser logged in as `user`, and its CSRF token."""
    c = TestClient(app)
    form = c.get("/console/login")
    r = c.post(
        "/console/login",
        data={
            "username": user,
            "password": PASSWORDS[user] if password is None else password,
            "csrf_token": _csrf(form.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    inbox = c.get("/console")
    assert inbox.status_code == 200
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', inbox.text).group(1)
    return c, token


@pytest.fixture(scope="module")
def alice(app):
    return login(app, "alice")


@pytest.fixture(scope="module")
def bob(app):
    return login(app, "bob")


def escalate(customer: TestClient) -> tuple[str, str]:
    """A customer asks for a person with the button: (session id, ticket id)."""
    s = sid()
    first = customer.post("/api/chat", json={"question": "OPPO手机屏幕碎了保修吗", "session_id": s})
    assert first.status_code == 200
    r = customer.post("/api/tickets", json={"session_id": s})
    assert r.status_code == 201
    return s, r.json()["ticket_id"]


def act(client: TestClient, token: str, ticket: str, action: str, **body):
    return client.post(
        f"/console/api/t/{ticket}/{action}", json=body, headers={"X-CSRF-Token": token}
    )


def customer_messages(customer: TestClient, session: str, after: int = 0, wait: float = 0):
    r = customer.get("/api/messages", params={"session_id": session, "after": after, "wait": wait})
    assert r.status_code == 200
    return r.json()


# -- accounts ---------------------------------------------------------------------------
def test_staff_add_reads_the_password_from_stdin_and_stores_only_a_hash(tmp_path):
    env = {
        "KEFU_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [PYTHON, "-m", "bot", "staff", "add", "lead", "--role", "admin"],
        input="a-long-secret-9\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    again = subprocess.run(
        [PYTHON, "-m", "bot", "staff", "add", "lead"],
        input="another-secret-9\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert again.returncode != 0 and "已存在" in again.stderr
    short = subprocess.run(
        [PYTHON, "-m", "bot", "staff", "add", "temp"],
        input="short\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert short.returncode != 0 and "至少" in short.stderr

    raw = (tmp_path / "tickets.db").read_bytes()
    assert b"a-long-secret-9" not in raw
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        rows = db.execute("SELECT username, role, password_hash FROM console_staff").fetchall()
    assert [(u, r) for u, r, _ in rows] == [("lead", "admin")]
    assert rows[0][2].startswith("$argon2id$")

    from bot.console.staff import StaffStore

    store = StaffStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    assert store.verify("lead", "a-long-secret-9").admin
    assert store.verify("lead", "a-long-secret-8") is None


def test_wrong_passwords_lock_the_account_even_against_the_right_one(app, desk_env):
    from bot.console.staff import StaffStore

    settings, _ = desk_env
    StaffStore(settings.tickets_db_url).add("carol", "carol-pass-1", "agent")
    PASSWORDS["carol"] = "carol-pass-1"
    c = TestClient(app)
    statuses = []
    for _ in range(settings.console_max_failures + 1):
        form = c.get("/console/login")
        r = c.post(
            "/console/login",
            data={"username": "carol", "password": "guess", "csrf_token": _csrf(form.text)},
            follow_redirects=False,
        )
        statuses.append(r.status_code)
    assert statuses[: settings.console_max_failures - 1] == [401] * (
        settings.console_max_failures - 1
    )
    assert statuses[-1] == 429 and "锁定" in r.text
    form = c.get("/console/login")
    right = c.post(
        "/console/login",
        data={"username": "carol", "password": "carol-pass-1", "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert right.status_code == 429  # the lock holds against the right password too
    assert "kefu_console" not in right.cookies


def test_login_without_the_form_token_is_refused(app):
    c = TestClient(app)
    r = c.post(
        "/console/login",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": "made-up"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "kefu_console" not in r.cookies


# -- who may reach what -------------------------------------------------------------------
PAGES = ["/console", "/console?stage=new", "/console/t/KF-AAAAAA"]
READS = [
    "/console/api/tickets",
    "/console/api/t/KF-AAAAAA",
    "/console/api/t/KF-AAAAAA/messages",
    "/console/api/t/KF-AAAAAA/draft",
]
WRITES = [
    ("/console/api/t/KF-AAAAAA/take", {}),
    ("/console/api/t/KF-AAAAAA/reply", {"text": "你好"}),
    ("/console/api/t/KF-AAAAAA/note", {"text": "备注"}),
    ("/console/api/t/KF-AAAAAA/stage", {"stage": "resolved", "reason": "x"}),
    ("/console/api/t/KF-AAAAAA/handback", {}),
    ("/console/api/t/KF-AAAAAA/assign", {"to": "bob"}),
    ("/console/api/t/KF-AAAAAA/faq", {"question": "q", "answer": "a"}),
    ("/console/api/staff", {"username": "mallory", "password": "mallory-pw-1"}),
]


def _forged(app, desk_env) -> dict[str, str]:
    """Cookies an attacker could hold: made up, signed with another key, expired, logged out."""
    from itsdangerous import URLSafeTimedSerializer

    from bot.console.auth import COOKIE, Signer, console_secret
    from bot.console.staff import StaffStore

    settings, _ = desk_env
    other = URLSafeTimedSerializer("not-our-secret", salt="kefu-console-login")
    staff = StaffStore(settings.tickets_db_url)
    root = staff.get("root")
    # Signed with our key but 13 hours ago: past the 12-hour login lifetime.
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 13 * 3600):
        expired = Signer(console_secret(settings), max_age_s=1).cookie_for(root)[0]
    c, token = login(app, "alice")
    old = c.cookies.get(COOKIE)
    c.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    return {
        "garbage": "not-a-cookie",
        "other key": other.dumps({"u": "root", "e": root.epoch, "c": "x"}),
        "expired": expired,
        "logged out": old,
    }


def test_no_console_route_opens_without_a_valid_login(app, desk_env, customer):
    from bot.console.auth import COOKIE

    tried = refused = 0
    # A customer's own session (the widget's) is no key to the console either.
    s, _ = escalate(customer)
    identities = {"anonymous": {}, **{k: {COOKIE: v} for k, v in _forged(app, desk_env).items()}}
    for name, cookies in identities.items():
        c = TestClient(app, cookies=cookies)
        for path in PAGES:
            r = c.get(path, headers={"X-Kefu-Session": s}, follow_redirects=False)
            tried += 1
            assert r.status_code == 303 and r.headers["location"] == "/console/login", (name, path)
            refused += 1
        for path in READS:
            r = c.get(path, params={"session_id": s})
            tried += 1
            assert r.status_code == 401, (name, path, r.status_code)
            refused += 1
        for path, body in WRITES:
            r = c.post(path, json=body, headers={"X-CSRF-Token": "x", "X-Kefu-Session": s})
            tried += 1
            assert r.status_code == 401, (name, path, r.status_code)
            refused += 1
    print(f"\nconsole security: {refused}/{tried} refused")
    assert tried == refused == len(identities) * (len(PAGES) + len(READS) + len(WRITES))


def test_every_write_needs_the_csrf_token(app, alice, customer):
    c, token = alice
    _, ticket = escalate(customer)
    for path, body in WRITES:
        path = path.replace("KF-AAAAAA", ticket)
        for headers in ({}, {"X-CSRF-Token": token[:-2] + "xx"}):
            r = c.post(path, json=body, headers=headers)
            assert r.status_code == 403, (path, headers, r.status_code)
    r = c.post("/console/logout", data={}, follow_redirects=False)
    assert r.status_code == 403  # logging out is a write too
    assert c.get("/console").status_code == 200  # still logged in


def test_agents_cannot_take_admin_actions(app, alice, bob, customer):
    a, a_token = alice
    b, b_token = bob
    root, root_token = login(app, "root")
    _, ticket = escalate(customer)
    assert act(a, a_token, ticket, "take").status_code == 200
    # Another agent cannot take, resolve or hand back what alice holds, nor reassign it.
    assert act(b, b_token, ticket, "take").status_code == 403
    assert act(b, b_token, ticket, "stage", stage="resolved", reason="抢单").status_code == 403
    assert act(b, b_token, ticket, "handback").status_code == 403
    assert act(b, b_token, ticket, "assign", to="bob").status_code == 403
    r = b.post(
        "/console/api/staff",
        json={"username": "mallory", "password": "mallory-pw-1", "role": "admin"},
        headers={"X-CSRF-Token": b_token},
    )
    assert r.status_code == 403
    assert b.get("/console/api/audit").status_code == 403
    # An admin can do both.
    assert act(root, root_token, ticket, "assign", to="bob").json()["held_by"] == "bob"
    r = root.post(
        "/console/api/staff",
        json={"username": "dave", "password": "dave-pass-1", "role": "agent"},
        headers={"X-CSRF-Token": root_token},
    )
    assert r.status_code == 201
    actions = [(e["actor"], e["action"]) for e in root.get("/console/api/audit").json()["events"]]
    assert ("root", "assign") in actions and ("root", "staff_add") in actions
    assert ("bob", "assign") not in actions


# -- the live handoff -----------------------------------------------------------------------
def test_the_agent_takes_over_replies_live_and_hands_back(app, alice, customer):
    c, token = alice
    s, ticket = escalate(customer)

    view = c.get(f"/console/api/t/{ticket}").json()
    roles = [m["role"] for m in view["messages"]]
    assert roles == ["customer", "bot", "bot"]  # question, answer, the handoff's reply
    assert view["messages"][1]["citations"], "the agent sees what the bot cited"
    seen = customer_messages(customer, s)["last_id"]

    assert act(c, token, ticket, "take").json()["held_by"] == "alice"
    sent = act(
        c, token, ticket, "reply", text="您好,我是客服小王,屏幕碎裂属于人为损坏,不在保修范围。"
    )
    assert sent.status_code == 200
    got = customer_messages(customer, s, after=seen, wait=5)
    assert got["held"] is True
    texts = [(m["role"], m["text"]) for m in got["messages"]]
    assert ("notice", "人工客服已接入,正在为您处理。") in texts
    assert ("agent", "您好,我是客服小王,屏幕碎裂属于人为损坏,不在保修范围。") in texts
    assert all(m["author"] in (None, "客服") for m in got["messages"])  # no account names
    seen = got["last_id"]

    # While alice holds it, the bot stays quiet; the customer's words reach her.
    r = customer.post("/api/chat", json={"question": "那换一块屏幕要多少钱", "session_id": s})
    assert r.json()["outcome"] == "escalated" and "客服正在为您处理" in r.json()["answer"]
    r2 = customer.post("/api/chat", json={"question": "在吗?", "session_id": s})
    assert r2.json()["answer"] == "" and r2.json()["ticket_id"] == ticket  # told once
    stream = customer.post("/api/chat/stream", json={"question": "还在吗", "session_id": s})
    assert "event: final" in stream.text and "屏幕" not in stream.text
    after = c.get(f"/console/api/t/{ticket}/messages", params={"after": 0}).json()["messages"]
    customer_lines = [m["text"] for m in after if m["role"] == "customer"]
    assert customer_lines[-3:] == ["那换一块屏幕要多少钱", "在吗?", "还在吗"]
    # Nothing from the knowledge base: only the one "a person has your message" line.
    quiet = [m for m in after if m["role"] == "bot" and m["id"] > seen]
    assert [m["text"][:8] for m in quiet] == ["客服正在为您处理"]

    assert act(c, token, ticket, "handback").json()["held_by"] is None
    back = customer.post("/api/chat", json={"question": "OPPO手机保修几年", "session_id": s})
    assert back.json()["outcome"] == "answered" and back.json()["answer"]
    notes = [m["text"] for m in customer_messages(customer, s, after=seen)["messages"]]
    assert "人工客服已结束接待,如还有问题可以继续问我。" in notes


def test_a_reply_waits_for_a_customer_who_left_and_resumes_from_the_last_id(alice, customer):
    c, token = alice
    s, ticket = escalate(customer)
    seen = customer_messages(customer, s)["last_id"]
    act(c, token, ticket, "reply", text="第一条回复")
    act(c, token, ticket, "reply", text="第二条回复")
    # The customer comes back later (a reload, a dropped connection): everything after what
    # they saw, in order, once.
    got = customer_messages(customer, s, after=seen)
    agent = [m["text"] for m in got["messages"] if m["role"] == "agent"]
    assert agent == ["第一条回复", "第二条回复"]
    assert customer_messages(customer, s, after=got["last_id"])["messages"] == []
    everything = customer_messages(customer, s)["messages"]
    assert [m["role"] for m in everything][:2] == ["customer", "bot"]  # history on reload


def test_a_long_poll_returns_as_soon_as_the_agent_replies(app, alice, customer):
    import threading

    c, token = alice
    s, ticket = escalate(customer)
    act(c, token, ticket, "take")  # its notice comes now, not in the middle of the wait
    seen = customer_messages(customer, s)["last_id"]
    timer = threading.Timer(1.0, lambda: act(c, token, ticket, "reply", text="马上为您处理"))
    t0 = time.monotonic()
    timer.start()
    got = customer_messages(customer, s, after=seen, wait=20)
    waited = time.monotonic() - t0
    timer.join()
    assert [m["text"] for m in got["messages"] if m["role"] == "agent"] == ["马上为您处理"]
    assert waited < 15  # it did not sit out the whole wait


def test_the_agent_sees_a_draft_that_is_never_sent_by_itself(alice, customer):
    c, _ = alice
    s, ticket = escalate(customer)
    d = c.get(f"/console/api/t/{ticket}/draft").json()
    assert d["question"] == "OPPO手机屏幕碎了保修吗"
    assert d["text"] and d["citations"]
    got = customer_messages(customer, s)["messages"]
    assert not [m for m in got if m["role"] == "agent"]
    assert d["text"] not in [m["text"] for m in got if m["role"] != "bot"]


def test_stage_changes_need_a_reason_and_resolving_is_final(alice, customer):
    c, token = alice
    s, ticket = escalate(customer)
    assert act(c, token, ticket, "stage", stage="snoozed", reason="").status_code == 422
    assert (
        act(c, token, ticket, "stage", stage="snoozed", reason="等备件").json()["stage"]
        == "snoozed"
    )
    # The customer writing again wakes a snoozed ticket that an agent holds.
    act(c, token, ticket, "take")
    act(c, token, ticket, "stage", stage="snoozed", reason="等备件")
    customer.post("/api/chat", json={"question": "备件到了吗", "session_id": s})
    assert c.get(f"/console/api/t/{ticket}").json()["ticket"]["stage"] == "open"
    r = act(c, token, ticket, "stage", stage="resolved", reason="已告知顾客")
    assert r.json()["status"] == "closed" and r.json()["held_by"] is None
    assert act(c, token, ticket, "reply", text="还有吗").status_code == 409
    answered = customer.post("/api/chat", json={"question": "OPPO手机保修几年", "session_id": s})
    assert answered.json()["outcome"] == "answered"
    events = c.get(f"/console/api/t/{ticket}").json()["events"]
    assert any(e["action"] == "stage" and "已告知顾客" in e["detail"] for e in events)


def test_unknown_tickets_and_bad_input_get_clear_errors(alice):
    c, token = alice
    assert act(c, token, "KF-ZZZZZZ", "take").status_code == 404
    assert c.get("/console/api/t/KF-ZZZZZZ").status_code == 404
    assert c.get("/console/t/KF-ZZZZZZ").status_code == 404
    assert c.get("/console/api/t/%00%ff/messages").status_code == 404
    assert act(c, token, "KF-ZZZZZZ", "reply", text="x" * 5000).status_code == 422


# -- the inbox ------------------------------------------------------------------------------
def test_the_inbox_pages_filters_and_searches(app, alice, customer):
    c, token = alice
    made = [escalate(customer)[1] for _ in range(3)]
    everything = c.get("/console/api/tickets", params={"per_page": 100}).json()
    assert everything["total"] >= 3
    page1 = c.get("/console/api/tickets", params={"per_page": 2}).json()
    page2 = c.get("/console/api/tickets", params={"per_page": 2, "page": 2}).json()
    assert page1["total"] == everything["total"] and len(page1["tickets"]) == 2
    assert {t["ticket_id"] for t in page1["tickets"]}.isdisjoint(
        t["ticket_id"] for t in page2["tickets"]
    )
    found = c.get("/console/api/tickets", params={"q": made[1].lower()}).json()
    assert [t["ticket_id"] for t in found["tickets"]] == [made[1]]
    act(c, token, made[2], "stage", stage="waiting", reason="等顾客回复照片")
    waiting = c.get("/console/api/tickets", params={"stage": "waiting"}).json()["tickets"]
    assert made[2] in [t["ticket_id"] for t in waiting]
    assert made[0] not in [t["ticket_id"] for t in waiting]
    html = c.get("/console", params={"q": made[1]}).text
    assert made[1] in html and made[0] not in html and "共 1 张工单" in html


def test_the_ticket_page_escapes_what_the_customer_wrote(app, alice, customer):
    c, _ = alice
    s = sid()
    customer.post(
        "/api/chat", json={"question": "<script>alert(1)</script>保修多久", "session_id": s}
    )
    ticket = customer.post("/api/tickets", json={"session_id": s}).json()["ticket_id"]
    html = c.get(f"/console/t/{ticket}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# -- closing the gap --------------------------------------------------------------------------
def test_an_agent_answer_saved_as_faq_is_picked_up_by_the_next_load(alice, customer, desk_env):
    from bot.ingest.loader import load_corpus

    settings, _ = desk_env
    c, token = alice
    _, ticket = escalate(customer)
    r = act(
        c,
        token,
        ticket,
        "faq",
        question="手机进水了还能保修吗",
        answer="进水属于人为损坏,不在免费保修范围,可到服务中心付费检测维修。",
    )
    assert r.status_code == 200, r.text
    saved = settings.knowledge_dir / r.json()["file"]
    assert saved.is_file() and ticket in saved.read_text(encoding="utf-8")
    corpus = load_corpus(settings.knowledge_dir)
    faq = next(f for f in corpus.faqs if f.question == "手机进水了还能保修吗")
    assert faq.answer.startswith("进水属于人为损坏")
    assert act(c, token, ticket, "faq", question=" ", answer="x").status_code == 422


def test_tickets_show_prints_the_whole_transcript_with_the_bots_replies(
    alice, customer, desk_env, monkeypatch, capsys
):
    import json

    from bot.cli import main

    settings, _ = desk_env
    c, token = alice
    _, ticket = escalate(customer)
    act(c, token, ticket, "reply", text="已为您登记,稍后回电。")
    act(c, token, ticket, "note", text="顾客情绪平稳")
    monkeypatch.setenv("KEFU_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KEFU_TICKETS_URL", settings.tickets_db_url)
    assert main(["tickets", "show", ticket]) == 0
    shown = json.loads(capsys.readouterr().out)
    roles = [m["role"] for m in shown["messages"]]
    assert roles[:3] == ["customer", "bot", "bot"] and "agent" in roles
    assert shown["messages"][1]["citations"]  # what the bot cited, as the customer saw it
    assert [e["detail"] for e in shown["events"] if e["action"] == "note"] == ["顾客情绪平稳"]


def test_what_agents_answered_reaches_the_gap_report(alice, customer, desk_env):
    from bot.gaps import knowledge_gaps

    _, bot = desk_env
    c, token = alice
    s = sid()
    customer.post("/api/chat", json={"question": "手机掉水里了开不了机怎么办", "session_id": s})
    ticket = customer.post("/api/tickets", json={"session_id": s}).json()["ticket_id"]
    act(c, token, ticket, "reply", text="请立即关机,不要充电,尽快送到服务中心检测。")
    answers = [a for a in bot.conversations.agent_answers() if a["session"] == s]
    assert answers == [
        {
            "session": s,
            "turn_id": f"{s}:1",
            "question": "手机掉水里了开不了机怎么办",
            "agent_answer": "请立即关机,不要充电,尽快送到服务中心检测。",
        }
    ]
    groups = knowledge_gaps([], corrected=answers)
    assert groups and groups[0].agent_answers == ["请立即关机,不要充电,尽快送到服务中心检测。"]


def test_the_gradio_chat_shows_the_agents_reply_and_stays_quiet_while_held(desk_env, alice):
    import gradio as gr

    from bot.web.api import Runtime
    from bot.web.limits import RateLimiter
    from bot.web.ui import ChatUI, session_of

    settings, bot = desk_env
    ui = ChatUI(Runtime(settings=settings, limiter=RateLimiter(settings.rate_limit), bot=bot))
    request = gr.Request(session_hash=uuid.uuid4().hex)
    *_, (_, history, turns) = ui.respond("OPPO手机屏幕碎了保修吗", [], {}, "全部", request)
    assert ui.listening(request).active is False  # no ticket: nothing to poll
    history, turns = ui.handoff(history, turns, "全部", request)
    assert ui.listening(request).active is True
    ticket = bot.tickets.open_for(session_of(request)).ticket_id

    c, token = alice
    act(c, token, ticket, "reply", text="您好,这里是人工客服。")
    history, seen = ui.poll(history, 0, request)
    assert history[-2:] == [
        {"role": "assistant", "content": "*人工客服已接入,正在为您处理。*"},
        {"role": "assistant", "content": "**人工客服**:您好,这里是人工客服。"},
    ]
    again, _ = ui.poll(history, seen, request)
    assert isinstance(again, type(gr.skip()))  # nothing new: the chat is left as it is

    *_, (_, held, _) = ui.respond("那多少钱", history, turns, "全部", request)
    assert "客服正在为您处理" in held[-1]["content"]
    *_, (_, quiet, _) = ui.respond("在吗", held, turns, "全部", request)
    assert quiet[-1] == {"role": "user", "content": "在吗"}  # no bot bubble after it
