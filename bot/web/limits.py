"""Request limits: body size (before parsing) and rate per client IP and session, for the JSON API
and the Gradio UI's own write routes (one budget per client for both)."""

from __future__ import annotations

import json
import math
import time

from limits import parse_many
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from bot.errors import shared_state

TOO_LARGE = "请求内容过大(上限 {limit} 字节),请精简后再试。"
TOO_MANY = "请求太频繁,请稍后再试。"


class RateLimited(Exception):
    """A client or session went over `settings.rate_limit`."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"rate limited; retry after {retry_after}s")


class RateLimiter:
    """Moving-window limits (the `limits` library, which slowapi wraps) keyed by IP and by session.

    slowapi's decorators key a request before its body is parsed, and the session id of a
    chat lives in the JSON body; so the routes call `check` once they hold the parsed body.
    """

    def __init__(self, rate: str, storage: Storage | None = None):
        self.items = parse_many(rate)  # "30/minute" or "30/minute;500/hour"
        self.limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def check(self, client_ip: str | None, session_id: str | None = None) -> None:
        """Count one request against the client's and the session's budget; raise RateLimited."""
        keys = [("ip", client_ip or "unknown")]
        if session_id:
            keys.append(("session", session_id))
        for kind, key in keys:
            for item in self.items:
                if not self._hit(item, kind, key):
                    stats = self.limiter.get_window_stats(item, kind, key)
                    raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))

    def _hit(self, item, kind: str, key: str) -> bool:
        with shared_state("rate limits"):
            return self.limiter.hit(item, kind, key)


def rate_limiter(settings) -> RateLimiter:
    """Counted in Redis when KEFU_REDIS_URL is set, so N workers allow the rate once, not N
    times; else in this process."""
    if not settings.redis_url:
        return RateLimiter(settings.rate_limit)
    from limits.storage import storage_from_string

    url = settings.redis_url
    storage = storage_from_string(url, key_prefix=f"{settings.redis_prefix}limits")
    return RateLimiter(settings.rate_limit, storage)


class BodyLimitMiddleware:
    """Reject bodies over `max_bytes` with 413 before any route parses them.

    Content-Length is checked first; a chunked body (no length) is read and counted up to the
    limit, then replayed to the app, so a client cannot get around the limit by streaming.
    """

    def __init__(self, app, max_bytes: int, prefix: str = "/api/"):
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > self.max_bytes
            except ValueError:
                too_large = True  # a malformed length is not worth parsing
            if too_large:
                await self._reject(send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._reject(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as servers do

        await self.app(scope, replay, send)

    async def _reject(self, send) -> None:
        payload = json.dumps(
            {"error": TOO_LARGE.format(limit=self.max_bytes)}, ensure_ascii=False
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
