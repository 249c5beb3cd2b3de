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
from bot.tickets.webhook import WebhookDispatcher, backoff_s

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


class Helpdesk:
    """A helpdesk endpoint that answers 500 to the first `fail_first` requests, then 200."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], dict]] = []  # every request, failed or not
        self.accepted: list[dict] = []
        self.arrived = threading.Event()
        helpdesk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                helpdesk.requests.append((dict(self.headers), body))
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

    def make(fail_first: int = 0) -> Helpdesk:
        servers.append(Helpdesk(fail_first))
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
