"""Property-based: no request body, header or path that a client can send gets a 5xx.

Hypothesis builds JSON bodies for every JSON route, shaped like the real requests but with
any value in any field (lone surrogates, control characters, NaN, Infinity, huge numbers,
nested objects), plus raw bytes that are not JSON at all. The real bot answers the ones that
are valid, so the whole answer path sees the odd text, not only the validators.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any code point, lone surrogates included; plus the shapes that broke the server before.
ANY_CHAR = st.characters(exclude_categories=())
NASTY = st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "\U000e0041", "保修" * 400, "", " ", "null"]
)
TEXT = st.one_of(st.text(ANY_CHAR, max_size=60), NASTY, st.text(max_size=600))
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
# Raw number spellings JSON parsers disagree on, substituted into a field as text.
RAW_NUMBERS = st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" * 5000])
SESSION = st.one_of(st.from_regex(r"\A[A-Za-z0-9_.:\-]{1,40}\Z"), TEXT)

FIELDS = {
    "/api/chat": {"question": TEXT, "session_id": SESSION, "brand": TEXT},
    "/api/chat/stream": {"question": TEXT, "session_id": SESSION, "brand": TEXT},
    "/api/tickets": {"session_id": SESSION, "brand": TEXT, "contact": TEXT, "consent": VALUE},
    "/api/feedback": {
        "session_id": SESSION,
        "turn_id": TEXT,
        "rating": st.one_of(st.sampled_from(["up", "down"]), VALUE),
        "comment": TEXT,
    },
}


def _body(path: str):
    """Raw request bytes for one route: a shaped object, any JSON value, or junk bytes."""
    fields = FIELDS[path]
    names = list(fields)
    shaped = st.fixed_dictionaries({}, optional={n: st.one_of(fields[n], VALUE) for n in names})

    def dump(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=True, allow_nan=True).encode()

    @st.composite
    def with_raw_number(draw) -> bytes:
        obj = draw(shaped)
        name = draw(st.sampled_from(names))
        obj[name] = "__RAW__"
        return dump(obj).replace(b'"__RAW__"', draw(RAW_NUMBERS).encode())

    return st.one_of(
        shaped.map(dump),
        VALUE.map(dump),
        with_raw_number(),
        st.binary(max_size=200),
    )


@pytest.fixture(scope="module")
def client(real_bot):
    from bot.web.server import create_app

    # Generous limits: this is about inputs, not the 429 path (tests/test_web.py has that).
    s = real_bot.settings.model_copy(update={"rate_limit": "1000000/minute"})
    with TestClient(create_app(s, bot=real_bot), raise_server_exceptions=False) as c:
        yield c


def _check(r, streamed: bool = False) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if streamed and r.status_code == 200:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert '"status": 5' not in r.text, r.text[:300]  # no 5xx as an SSE error event
        assert "event: final" in r.text or "event: error" in r.text
        return
    data = r.json()  # always JSON, never an HTML error page
    if r.status_code >= 400:
        assert isinstance(data["error"], str) and data["error"]


def _post(client, path: str, raw: bytes, headers: dict | None = None):
    return client.post(
        path, content=raw, headers={"content-type": "application/json", **(headers or {})}
    )


@EXAMPLES
@given(raw=_body("/api/chat"))
def test_chat_never_answers_5xx(client, raw):
    _check(_post(client, "/api/chat", raw))


@EXAMPLES
@given(raw=_body("/api/chat/stream"))
def test_chat_stream_never_answers_5xx(client, raw):
    _check(_post(client, "/api/chat/stream", raw), streamed=True)


@EXAMPLES
@given(raw=_body("/api/tickets"), key=st.one_of(st.none(), st.text(ANY_CHAR, max_size=30)))
def test_tickets_never_answer_5xx(client, raw, key):
    # Any bytes a header line can carry (an HTTP server never passes CR, LF or NUL on).
    headers = {}
    if key is not None:
        value = key.encode("utf-8", "surrogatepass")
        headers["Idempotency-Key"] = bytes(b for b in value if b not in b"\r\n\x00")
    _check(_post(client, "/api/tickets", raw, headers))


@EXAMPLES
@given(raw=_body("/api/feedback"))
def test_feedback_never_answers_5xx(client, raw):
    _check(_post(client, "/api/feedback", raw))


@EXAMPLES
@given(ticket=st.text(ANY_CHAR, min_size=1, max_size=60), session=st.one_of(st.none(), TEXT))
def test_ticket_lookup_never_answers_5xx(client, ticket, session):
    quote = urllib.parse.quote
    path = "/api/tickets/" + quote(ticket.encode("utf-8", "surrogatepass"), safe="")
    if session is not None:
        path += "?session_id=" + quote(session.encode("utf-8", "surrogatepass"), safe="")
    _check(client.get(path))
