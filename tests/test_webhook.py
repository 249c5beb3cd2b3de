"""Webhook delivery against a real local HTTP server: retried, never lost, sent once."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.tickets.store import TicketStore
from bot.tickets.webhook import WebhookDispatcher, backoff_s, payload

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


class Helpdesk:
    """A helpdesk endpoint that answers 500 to the first `fail_first` requests, then 200;
    `during(n)` runs while the n-th request (from 1) waits for its answer."""

    def __init__(self, fail_first: int = 0, during=None):
        self.fail_first = fail_first
        self.during = during
        self.requests: list[tuple[dict[str, str], dict]] = []  # every request, failed or not
        self.accepted: list[dict] = []
        self.arrived = threading.Event()
        helpdesk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                helpdesk.requests.append((dict(self.headers), body))
                if helpdesk.during:
                    helpdesk.during(len(helpdesk.requests))
                ok = len(helpdesk.requests) > helpdesk.fail_first
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"{}" if ok else b"helpdesk down")
                if ok:
                    helpdesk.accepted.append(body)
                    helpdesk.arrived.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def helpdesk():
    servers: list[Helpdesk] = []

    def make(fail_first: int = 0, during=None) -> Helpdesk:
        servers.append(Helpdesk(fail_first, during))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _store(tmp_path):
    return TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")


def _ticket(store, key="s1:0", **kw):
    return store.create(
        key=key,
        session_id=key.split(":")[0],
        category="complaint",
        summary="我要去12315投诉",
        transcript=[{"q": "我要去12315投诉", "outcome": "escalated"}],
        **kw,
    )


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tickets"  # nothing listens here now


def _wait(cond, timeout=10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_a_failing_helpdesk_gets_the_ticket_exactly_once_after_retries(tmp_path, helpdesk):
    hd = helpdesk(fail_first=2)
    store = _store(tmp_path)
    t = _ticket(store, contact="13800138000", consent=True, brand="oppo")
    d = WebhookDispatcher(store, hd.url, timeout_s=2, max_attempts=5)

    assert d.deliver_due(T0) == 0  # 500
    assert store.get(t.ticket_id).webhook_state == "pending"
    assert d.deliver_due(T0) == 0 and len(hd.requests) == 1  # backing off: not hammered
    assert d.deliver_due(T0 + dt.timedelta(seconds=backoff_s(1))) == 0  # 500 again
    assert d.deliver_due(T0 + dt.timedelta(minutes=1)) == 1
    assert d.deliver_due(T0 + dt.timedelta(days=1)) == 0  # sent means sent

    assert len(hd.requests) == 3 and len(hd.accepted) == 1
    assert {h["Idempotency-Key"] for h, _ in hd.requests} == {t.ticket_id}
    body = hd.accepted[0]
    assert body["ticket_id"] == t.ticket_id and body["summary"] == "我要去12315投诉"
    assert body["priority"] == 2 and body["priority_label"] == "重大投诉"
    assert body["contact"] == "13800138000" and body["brand"] == "oppo"
    sent = store.get(t.ticket_id)
    assert (sent.webhook_state, sent.webhook_attempts, sent.webhook_error) == ("sent", 3, None)


def test_contact_without_consent_never_leaves(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    _ticket(store, contact="13800138000")
    assert WebhookDispatcher(store, hd.url).deliver_due(T0) == 1
    assert hd.accepted[0]["contact"] is None and hd.accepted[0]["consent"] is False
    assert "13800138000" not in json.dumps(hd.requests)


def test_an_unreachable_helpdesk_never_loses_the_ticket(tmp_path):
    store = _store(tmp_path)
    t = _ticket(store)
    d = WebhookDispatcher(store, _closed_port_url(), timeout_s=1, max_attempts=3)
    now = T0
    for _ in range(5):  # more passes than attempts allowed
        assert d.deliver_due(now) == 0
        now += dt.timedelta(minutes=11)  # past the longest backoff

    kept = store.get(t.ticket_id, session_id="s1")
    assert kept.summary == "我要去12315投诉" and kept.status == "open"
    assert (kept.webhook_state, kept.webhook_attempts) == ("failed", 3)
    assert "Connect" in kept.webhook_error


def test_pending_deliveries_survive_a_restart(tmp_path, helpdesk):
    down = helpdesk(fail_first=1000)
    first_run = _store(tmp_path)
    tried = _ticket(first_run, key="s1:0")
    a_while_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert WebhookDispatcher(first_run, down.url).deliver_due(a_while_ago) == 0  # failed
    never_tried = _ticket(first_run, key="s2:0")  # the process died before sending this
    first_run.dispose()

    up = helpdesk()
    second_run = _store(tmp_path)
    d = WebhookDispatcher(second_run, up.url, timeout_s=2)
    d.start()
    try:
        assert _wait(lambda: len(up.accepted) == 2), up.requests
    finally:
        d.stop()
    assert sorted(b["ticket_id"] for b in up.accepted) == sorted(
        [tried.ticket_id, never_tried.ticket_id]
    )
    assert {second_run.get(x.ticket_id).webhook_state for x in (tried, never_tried)} == {"sent"}


def test_a_new_ticket_wakes_the_dispatcher(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    d = WebhookDispatcher(store, hd.url, poll_s=60)  # without a wake-up it would wait a minute
    d.start()
    try:
        time.sleep(0.1)  # the first pass finds nothing
        t = _ticket(store)
        assert hd.arrived.wait(5)
    finally:
        d.stop()
    assert [b["ticket_id"] for b in hd.accepted] == [t.ticket_id]


def test_backoff_doubles_and_is_capped_at_ten_minutes():
    assert [backoff_s(n) for n in (1, 2, 3, 9, 10, 20)] == [2, 4, 8, 512, 600, 600]


def test_tickets_made_without_a_webhook_are_not_sent_when_one_is_turned_on(tmp_path, helpdesk):
    hd = helpdesk()
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    old = _ticket(TicketStore(url, outbox=False), key="old:0")
    store = TicketStore(url)  # a webhook is configured now
    new = _ticket(store, key="new:0")
    assert WebhookDispatcher(store, hd.url, timeout_s=2).deliver_due(T0) == 1
    assert [body["ticket_id"] for _headers, body in hd.requests] == [new.ticket_id]
    assert store.get(old.ticket_id).webhook_state is None


# -- a joined ticket that became more urgent ---------------------------------------------
CREATED_FIELDS = {
    "event", "ticket_id", "session_id", "category", "priority", "priority_label",
    "priority_label_en", "brand", "summary", "transcript", "status", "contact", "consent",
    "created_at", "updated_at",
}  # fmt: skip
RAISED_FIELDS = CREATED_FIELDS | {
    "previous_priority", "previous_priority_label", "previous_priority_label_en"
}  # fmt: skip


def _escalate(store, key, category, q):
    """What bot/escalate.py does for each escalation: join the conversation's open ticket."""
    return store.create(
        key=key,
        session_id="s1",
        category=category,
        summary=q,
        transcript=[{"q": q, "outcome": "escalated"}],
        join_open=True,
    )


def _sent(hd) -> list[tuple[str, str, int, int | None]]:
    """(event, Idempotency-Key, priority, previous_priority) of each request, failed or not."""
    return [
        (b["event"], h["Idempotency-Key"], b["priority"], b.get("previous_priority"))
        for h, b in hd.requests
    ]


def test_a_join_that_raises_the_priority_tells_the_helpdesk_once(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    d = WebhookDispatcher(store, hd.url, timeout_s=2)
    t = _escalate(store, "s1:0", "human", "转人工")
    assert d.deliver_due(T0) == 1
    assert _escalate(store, "s1:1", "human", "人呢").ticket_id == t.ticket_id
    assert d.deliver_due(T0) == 0  # the same priority: nothing new for the helpdesk
    assert store.get(t.ticket_id).webhook_state == "sent"

    raised = _escalate(store, "s1:2", "safety", "手机电池鼓包了还在冒烟")
    assert raised.ticket_id == t.ticket_id and raised.priority == 1
    assert store.get(t.ticket_id).webhook_state == "pending"
    assert d.deliver_due(T0) == 1
    _escalate(store, "s1:3", "complaint", "我要投诉")  # less urgent than safety: no rise
    assert d.deliver_due(T0 + dt.timedelta(days=1)) == 0

    tid = t.ticket_id
    assert _sent(hd) == [
        ("ticket.created", tid, 4, None),
        ("ticket.priority_raised", f"{tid}:P1", 1, 4),
    ]
    created, update = hd.accepted
    assert set(created) == CREATED_FIELDS  # unchanged for receivers that know only this
    assert set(update) == RAISED_FIELDS
    assert update["ticket_id"] == tid and update["category"] == "safety"
    assert (update["priority_label"], update["previous_priority_label"]) == ("安全隐患", "常规问题")
    assert update["previous_priority_label_en"] == "routine issue"
    assert [x["q"] for x in update["transcript"]] == ["转人工", "人呢", "手机电池鼓包了还在冒烟"]
    assert store.get(tid).webhook_state == "sent"


def test_each_rise_is_announced_from_what_the_helpdesk_last_heard(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    d = WebhookDispatcher(store, hd.url, timeout_s=2)
    t = _escalate(store, "s1:0", "human", "转人工")
    d.deliver_due(T0)
    _escalate(store, "s1:1", "billing", "多扣了钱")  # 4 -> 3
    _escalate(store, "s1:2", "complaint", "我要投诉")  # 3 -> 2 before that went out
    d.deliver_due(T0)
    _escalate(store, "s1:3", "safety", "冒烟了")  # 2 -> 1
    d.deliver_due(T0)
    tid = t.ticket_id
    assert _sent(hd) == [
        ("ticket.created", tid, 4, None),
        ("ticket.priority_raised", f"{tid}:P2", 2, 4),  # one message for both rises
        ("ticket.priority_raised", f"{tid}:P1", 1, 2),
    ]


def test_a_rise_before_the_ticket_was_delivered_goes_out_as_created(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    t = _escalate(store, "s1:0", "human", "转人工")
    _escalate(store, "s1:1", "safety", "电池鼓包了")
    d = WebhookDispatcher(store, hd.url, timeout_s=2)
    assert d.deliver_due(T0) == 1
    assert d.deliver_due(T0) == 0
    assert _sent(hd) == [("ticket.created", t.ticket_id, 1, None)]
    assert hd.accepted[0]["priority_label"] == "安全隐患"


def test_a_rise_while_the_ticket_is_on_its_way_follows_it(tmp_path, helpdesk):
    store = _store(tmp_path)
    # another worker escalates the same conversation while the first delivery waits
    hd = helpdesk(during=lambda n: n == 1 and _escalate(store, "s1:1", "safety", "冒烟了"))
    t = _escalate(store, "s1:0", "human", "转人工")
    d = WebhookDispatcher(store, hd.url, timeout_s=2)
    assert d.deliver_due(T0) == 1
    assert store.get(t.ticket_id).webhook_state == "pending"  # not marked sent over the rise
    assert d.deliver_due(T0) == 1  # due at once, not after the claim's lease
    assert _sent(hd) == [
        ("ticket.created", t.ticket_id, 4, None),
        ("ticket.priority_raised", f"{t.ticket_id}:P1", 1, 4),
    ]
    assert store.get(t.ticket_id).webhook_state == "sent"


def test_a_rise_after_an_unanswered_try_is_announced_even_if_that_try_arrived(tmp_path, helpdesk):
    # The first try may have reached the helpdesk (at P4) with its answer lost; the retry
    # carries the same Idempotency-Key, so the helpdesk may drop it: a rise follows.
    hd = helpdesk(fail_first=1)
    store = _store(tmp_path)
    t = _escalate(store, "s1:0", "human", "转人工")
    d = WebhookDispatcher(store, hd.url, timeout_s=2)
    assert d.deliver_due(T0) == 0
    _escalate(store, "s1:1", "safety", "冒烟了")
    assert d.deliver_due(T0) == 0  # still backing off: the helpdesk just failed
    later = T0 + dt.timedelta(seconds=backoff_s(1))
    assert d.deliver_due(later) == 1
    assert d.deliver_due(later) == 1
    tid = t.ticket_id
    assert _sent(hd) == [
        ("ticket.created", tid, 4, None),  # answered 500
        ("ticket.created", tid, 1, None),
        ("ticket.priority_raised", f"{tid}:P1", 1, 4),
    ]


def test_a_delivery_that_gave_up_gets_new_attempts_when_the_ticket_becomes_urgent(
    tmp_path, helpdesk
):
    store = _store(tmp_path)
    t = _escalate(store, "s1:0", "human", "转人工")
    WebhookDispatcher(store, _closed_port_url(), timeout_s=1, max_attempts=1).deliver_due(T0)
    assert store.get(t.ticket_id).webhook_state == "failed"
    _escalate(store, "s1:1", "safety", "冒烟了")
    again = store.get(t.ticket_id)
    assert again.webhook_state == "pending" and again.webhook_attempts == 0
    assert again.webhook_error is None
    hd = helpdesk()
    assert WebhookDispatcher(store, hd.url, timeout_s=2).deliver_due(T0) == 1
    # never acknowledged: the helpdesk may have no ticket, so it gets ticket.created
    assert _sent(hd)[0] == ("ticket.created", t.ticket_id, 1, None)


def test_a_rise_wakes_the_dispatcher(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    d = WebhookDispatcher(store, hd.url, poll_s=60)
    d.start()
    try:
        t = _escalate(store, "s1:0", "human", "转人工")
        assert _wait(lambda: len(hd.accepted) == 1)
        _escalate(store, "s1:1", "human", "人呢")
        _escalate(store, "s1:2", "safety", "冒烟了")
        assert _wait(lambda: len(hd.accepted) == 2, timeout=5)
        time.sleep(0.2)
    finally:
        d.stop()
    assert [b["event"] for b in hd.accepted] == ["ticket.created", "ticket.priority_raised"]
    assert store.get(t.ticket_id).webhook_state == "sent"


def test_tickets_made_without_a_webhook_stay_out_of_it_when_they_rise(tmp_path, helpdesk):
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}", outbox=False)
    t = _escalate(store, "s1:0", "human", "转人工")
    _escalate(store, "s1:1", "safety", "冒烟了")
    assert store.get(t.ticket_id).webhook_state is None


def test_the_update_body_is_the_created_body_plus_the_change():
    from bot.tickets.store import Ticket

    t = Ticket("KF-ABCDEF", "s1", "safety", 1, "冒烟了", [], "open", "2026-11-22T08:00:00+00:00")
    created, raised = payload(t), payload(t, previous_priority=3)
    assert {k: v for k, v in raised.items() if k in created and k != "event"} == {
        k: v for k, v in created.items() if k != "event"
    }
    assert (created["event"], raised["event"]) == ("ticket.created", "ticket.priority_raised")
    assert raised["previous_priority"] == 3 and raised["previous_priority_label"] == "复杂问题"


def test_a_ticket_delivered_before_this_release_rises_as_an_update(tmp_path, helpdesk):
    import sqlite3

    db = tmp_path / "tickets.db"
    hd = helpdesk()
    store = _store(tmp_path)
    t = _escalate(store, "s1:0", "human", "转人工")
    WebhookDispatcher(store, hd.url, timeout_s=2).deliver_due(T0)
    store.dispose()
    with sqlite3.connect(db) as c:  # back to the previous release's table
        c.execute("DROP INDEX ux_tickets_open_conversation")
        for col in ("join_open", "webhook_acked_priority", "webhook_tried_priority"):
            c.execute(f"ALTER TABLE tickets DROP COLUMN {col}")

    store = _store(tmp_path)
    _escalate(store, "s1:1", "safety", "冒烟了")
    assert WebhookDispatcher(store, hd.url, timeout_s=2).deliver_due(T0) == 1
    assert _sent(hd)[-1] == ("ticket.priority_raised", f"{t.ticket_id}:P1", 1, 4)


# -- contact details given after the ticket -------------------------------------------------
def test_a_contact_given_after_delivery_reaches_the_helpdesk_once(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    t = _ticket(store)
    d = WebhookDispatcher(store, hd.url)
    assert d.deliver_due(T0) == 1 and hd.accepted[0]["contact"] is None

    store.update_contact(t.ticket_id, "s1", "13800138000", consent=True)
    store.update_contact(t.ticket_id, "s1", "13800138000", consent=True)  # the same again
    assert d.deliver_due(T0) == 1
    assert d.deliver_due(T0 + dt.timedelta(days=1)) == 0
    assert [b["event"] for b in hd.accepted] == ["ticket.created", "ticket.contact_updated"]
    assert hd.accepted[1]["contact"] == "13800138000" and hd.accepted[1]["consent"] is True
    assert hd.accepted[1]["priority"] == t.priority  # the same ticket, nothing else changed
    assert hd.requests[1][0]["Idempotency-Key"] == f"{t.ticket_id}:C1"

    # withdrawing consent is news too: the helpdesk must stop using the number
    store.update_contact(t.ticket_id, "s1", None, consent=False)
    assert d.deliver_due(T0) == 1
    assert hd.accepted[2]["contact"] is None and hd.accepted[2]["consent"] is False
    assert hd.requests[2][0]["Idempotency-Key"] == f"{t.ticket_id}:C2"


def test_a_contact_given_before_delivery_rides_in_ticket_created(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    t = _ticket(store)
    store.update_contact(t.ticket_id, "s1", "kefu.user@example.com", consent=True)
    d = WebhookDispatcher(store, hd.url)
    assert d.deliver_due(T0) == 1 and d.deliver_due(T0) == 0
    assert len(hd.accepted) == 1 and hd.accepted[0]["event"] == "ticket.created"
    assert hd.accepted[0]["contact"] == "kefu.user@example.com"


def test_a_contact_given_while_the_ticket_is_on_its_way_follows_it(tmp_path, helpdesk):
    store = _store(tmp_path)
    t = _ticket(store)

    def give_contact(n):
        if n == 1:  # the customer types a number while ticket.created is in flight
            store.update_contact(t.ticket_id, "s1", "13800138000", consent=True)

    hd = helpdesk(during=give_contact)
    d = WebhookDispatcher(store, hd.url)
    assert d.deliver_due(T0) == 1
    assert hd.accepted[0]["contact"] is None  # read before the customer typed it
    assert store.get(t.ticket_id).webhook_state == "pending"
    assert d.deliver_due(T0) == 1
    assert hd.accepted[1]["event"] == "ticket.contact_updated"
    assert hd.accepted[1]["contact"] == "13800138000"
    assert store.get(t.ticket_id).webhook_state == "sent"


def test_a_new_contact_wakes_the_dispatcher(tmp_path, helpdesk):
    hd = helpdesk()
    store = _store(tmp_path)
    t = _ticket(store)
    d = WebhookDispatcher(store, hd.url, poll_s=30)
    d.start()
    try:
        assert _wait(lambda: len(hd.accepted) == 1)
        store.update_contact(t.ticket_id, "s1", "13800138000", consent=True)
        assert _wait(lambda: len(hd.accepted) == 2), "waited for the 30 s poll"
        assert hd.accepted[1]["contact"] == "13800138000"
    finally:
        d.stop()


def test_an_agents_reply_reaches_the_helpdesk_when_the_customer_left_a_contact(tmp_path, helpdesk):
    from bot.conversations import ConversationStore

    hd = helpdesk()
    store = _store(tmp_path)
    talk = ConversationStore(store.engine)
    with_contact = _ticket(store, contact="13800138000", consent=True)
    without = _ticket(store, key="s2:0")
    d = WebhookDispatcher(store, hd.url)
    assert d.deliver_due(T0) == 2

    for t, session in ((with_contact, "s1"), (without, "s2")):
        talk.append(session, "agent", "您好,已为您安排明天上门检测。", author="alice")
        store.agent_replied(t.ticket_id)
    assert d.deliver_due(T0) == 1  # only the customer who can be reached
    assert d.deliver_due(T0 + dt.timedelta(days=1)) == 0
    sent = hd.accepted[-1]
    assert sent["event"] == "ticket.agent_replied" and sent["ticket_id"] == with_contact.ticket_id
    assert sent["agent_reply"] == "您好,已为您安排明天上门检测。"
    assert sent["contact"] == "13800138000"
    assert hd.requests[-1][0]["Idempotency-Key"] == f"{with_contact.ticket_id}:R1"

    # A second reply is its own event; a failed try is retried with the same key.
    talk.append("s1", "agent", "师傅已出发。", author="alice")
    store.agent_replied(with_contact.ticket_id)
    assert d.deliver_due(T0) == 1
    assert hd.accepted[-1]["agent_reply"] == "师傅已出发。"
    assert hd.requests[-1][0]["Idempotency-Key"] == f"{with_contact.ticket_id}:R2"
    assert [b["event"] for b in hd.accepted].count("ticket.agent_replied") == 2
