"""A fake WeChat API server on loopback, for the WeChat channel's tests (tests/test_wechat.py).

It speaks the few calls kefu makes, in both dialects: the Official Account's
``GET /cgi-bin/token`` and ``POST /cgi-bin/message/custom/send``, and WeCom's
``GET /cgi-bin/gettoken`` and ``POST /cgi-bin/message/send``. It issues access tokens, refuses
unknown or expired ones (40001, 42001), can be told to answer the next sends with an errcode
(45015, say), and records everything it received.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Sent:
    path: str
    token: str
    body: dict

    @property
    def user(self) -> str:
        return self.body.get("touser", "")

    @property
    def text(self) -> str:
        return (self.body.get("text") or {}).get("content", "")


@dataclass
class FakeWeChat:
    """The server's state; `start()` serves it on a free port of 127.0.0.1."""

    app_id: str = "wx-fake-app"
    app_secret: str = "fake-app-secret"
    corp_id: str = "ww-fake-corp"
    corp_secret: str = "fake-corp-secret"
    sent: list[Sent] = field(default_factory=list)  # every accepted message
    refused: list[tuple[str, int]] = field(default_factory=list)  # (path, errcode) answered
    token_requests: list[str] = field(default_factory=list)  # the path of each token request
    fail_next: list[int] = field(default_factory=list)  # errcodes for the next sends, in order
    send_delay_s: float = 0.0

    def __post_init__(self):
        self._valid: set[str] = set()
        self._expired: set[str] = set()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control ------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every token issued so far is now expired: sends with it get 42001."""
        with self._lock:
            self._expired |= self._valid
            self._valid.clear()

    def texts(self, user: str | None = None) -> list[str]:
        with self._lock:
            return [s.text for s in self.sent if user is None or s.user == user]

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()
            self.refused.clear()
            self.token_requests.clear()
            self.fail_next.clear()

    @property
    def base(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeWeChat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # quiet
                pass

            def _json(self, data: dict) -> None:
                body = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/cgi-bin/token":
                    ok = q.get("appid") == fake.app_id and q.get("secret") == fake.app_secret
                elif url.path == "/cgi-bin/gettoken":
                    ok = q.get("corpid") == fake.corp_id and q.get("corpsecret") == fake.corp_secret
                else:
                    self.send_error(404)
                    return
                with fake._lock:
                    fake.token_requests.append(url.path)
                    if not ok:
                        self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                        return
                    token = f"token-{next(fake._counter)}"
                    fake._valid.add(token)
                self._json({"errcode": 0, "access_token": token, "expires_in": 7200})

            def do_POST(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if url.path not in ("/cgi-bin/message/custom/send", "/cgi-bin/message/send"):
                    self.send_error(404)
                    return
                if fake.send_delay_s:
                    threading.Event().wait(fake.send_delay_s)
                token = q.get("access_token", "")
                with fake._lock:
                    if token in fake._expired:
                        code = 42001
                    elif token not in fake._valid:
                        code = 40001
                    elif fake.fail_next:
                        code = fake.fail_next.pop(0)
                    else:
                        code = 0
                    if code:
                        fake.refused.append((url.path, code))
                    else:
                        fake.sent.append(Sent(url.path, token, json.loads(raw.decode("utf-8"))))
                self._json({"errcode": code, "errmsg": "ok" if not code else f"error {code}"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
