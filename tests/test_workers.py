"""`uvicorn app:app --workers 2` (what `make serve` runs) against a real Redis: every follow-up
is read with its conversation, whichever worker takes it, and one rate limit holds for both."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.conftest import MODEL_CACHE, ROOT
from tests.servers import free_port, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONVERSATIONS = [
    ("屏幕碎了怎么保修?", "那电池呢"),
    ("浴霸安装要收费吗", "那维修呢"),
    ("手机保修期多久", "电池呢"),
]


@pytest.fixture(scope="module")
def two_workers(real_index, redis_server, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("workers") / "uvicorn.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATA_DIR=str(real_index),
        KEFU_MODEL_CACHE_DIR=str(MODEL_CACHE),
        KEFU_REDIS_URL=f"{redis_server}/3",
        KEFU_REDIS_PREFIX=f"w{uuid.uuid4().hex[:6]}:",
        KEFU_RATE_LIMIT="12/minute",
        # Each test speaks for its own clients through X-Forwarded-For, so their budgets differ.
        KEFU_TRUSTED_PROXIES='["127.0.0.1"]',
        KEFU_CHAT_LOG=str(log.with_name("chat.jsonl")),
        WEB_CONCURRENCY="2",
    )
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", "2", "--no-proxy-headers"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        ready, end = 0, time.monotonic() + 300
        while ready < 6 and time.monotonic() < end:  # both workers loaded, not only the first
            assert proc.poll() is None, log.read_text()
            try:
                ready = (
                    ready + 1 if httpx.get(f"{base}/healthz", timeout=5).status_code == 200 else 0
                )
            except httpx.HTTPError:
                ready = 0
            time.sleep(0.5 if ready else 2)
        assert ready >= 6, log.read_text()[-3000:]
        time.sleep(20)  # the slower worker may still be loading: it answers 503, never wrong
        yield base
    finally:
        stop(proc)


def _post(base: str, question: str, session_id: str, client_ip: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/chat",
        json={"question": question, "session_id": session_id},
        headers={"X-Forwarded-For": client_ip},
        timeout=30,
    )


def _ask(base: str, question: str, session_id: str, client_ip: str) -> dict:
    for _ in range(60):  # a worker still loading answers 503: the client retries, as a widget does
        r = _post(base, question, session_id, client_ip)
        if r.status_code != 503:
            assert r.status_code == 200, r.text
            return r.json()
        time.sleep(1)
    raise AssertionError("still loading after a minute")


def test_follow_ups_are_answered_in_context_whichever_worker_takes_them(two_workers, real_bot):
    for i, (first, follow) in enumerate(CONVERSATIONS):
        expected_sid = f"one-{i}"
        real_bot.ask(first, expected_sid)
        expected = real_bot.ask(follow, expected_sid)
        for n in range(3):  # fresh connections each time: the kernel spreads them over workers
            sid = f"two-{i}-{n}-{uuid.uuid4().hex[:6]}"
            ip = f"10.0.{i}.{n + 1}"
            _ask(two_workers, first, sid, ip)
            got = _ask(two_workers, follow, sid, ip)
            assert got["answer"] == expected.text, (first, follow, got["answer"])


def test_one_rate_limit_holds_across_both_workers(two_workers):
    sid = f"limit-{uuid.uuid4().hex[:6]}"
    codes = []
    for _ in range(16):
        codes.append(_post(two_workers, "保修多久", sid, "10.9.9.9").status_code)
    assert codes.count(200) == 12 and codes[-4:] == [429] * 4, codes
