"""The ASGI app: JSON API under /api, the embeddable widget, and the Gradio chat at /.

The bot loads in the background from the lifespan, so /healthz answers 503 while it loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.errors import KefuError, SharedStateError
from bot.web.api import (
    LOADING,
    Runtime,
    api_router,
    error,
    install_error_handlers,
    shared_down,
    too_many,
)
from bot.web.limits import BodyLimitMiddleware, RateLimited, RateLimiter, rate_limiter

if TYPE_CHECKING:
    from bot.chain import Kefu
    from bot.feedback import FeedbackStore
    from bot.profile import Profile
    from bot.settings import Settings
    from bot.types import Corpus

log = logging.getLogger("kefu.web")

STATIC_DIR = Path(__file__).with_name("static")
# Pages that shops embed (the widget's demo) may be framed; every other HTML page may not.
FRAMEABLE = ("/widget/demo",)
# Only what cannot break Gradio's page, which runs inline scripts and styles: no framing, no
# <base> pointing elsewhere, no plugins.
PAGE_CSP = "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class StaticFile:
    """One file served with an ETag (cached by mtime and size), answering 304 on a match."""

    def __init__(self, path: Path, media_type: str, cache_control: str, transform=None):
        self.path = path
        self.media_type = media_type
        self.cache_control = cache_control
        self.transform = transform  # bytes -> bytes, applied once per version of the file
        self._cached: tuple[tuple[int, int], bytes, str] | None = None

    def _load(self) -> tuple[bytes, str] | None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if self._cached is None or self._cached[0] != stamp:
                data = self.path.read_bytes()
                if self.transform is not None:
                    data = self.transform(data)
                self._cached = (stamp, data, f'"{hashlib.sha256(data).hexdigest()[:32]}"')
        except FileNotFoundError:
            return None
        return self._cached[1], self._cached[2]

    async def __call__(self, request: Request) -> Response:
        loaded = await run_in_threadpool(self._load)
        if loaded is None:
            return error(404, "该文件尚未发布。")
        data, etag = loaded
        headers = {"ETag": etag, "Cache-Control": self.cache_control}
        tags = [
            t.strip().removeprefix("W/")
            for t in request.headers.get("if-none-match", "").split(",")
        ]
        if "*" in tags or etag in tags:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=self.media_type, headers=headers)


class WarningCORSMiddleware(CORSMiddleware):
    """CORSMiddleware that logs each origin it refuses, once: else a widget embedded on a site
    missing from KEFU_CORS_ORIGINS fails in the customer's browser with nothing in the log."""

    MAX_WARNED = 100  # the Origin header is the client's to choose: bound what is remembered

    def __init__(self, app: ASGIApp, **kwargs):
        super().__init__(app, **kwargs)
        self._warned: set[str] = set()

    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        # Same-origin requests are never preflighted, so every refusal here is a real one.
        refused = not self.is_allowed_origin(origin=origin)
        if refused and origin not in self._warned and len(self._warned) < self.MAX_WARNED:
            self._warned.add(origin)
            log.warning(
                "kefu: refused a cross-origin call from %r: to embed the widget on that "
                "site, add it to KEFU_CORS_ORIGINS",
                origin,
            )
        return super().preflight_response(request_headers)


class SecurityHeadersMiddleware:
    """nosniff and a referrer policy on every response; HTML pages also refuse to be framed.

    Scripts (widget.js) get no CSP or framing headers: a shop loads it cross-origin, and framing
    rules mean nothing for a script. The pages in `frameable` are left embeddable.
    """

    def __init__(self, app: ASGIApp, frameable: tuple[str, ...] = FRAMEABLE):
        self.app = app
        self.frameable = frameable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        frameable = scope["path"] in self.frameable

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ()))
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if not frameable and headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Content-Security-Policy", PAGE_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UIRateLimitMiddleware:
    """Count every write outside /api (Gradio's queue, API and upload routes) against the
    client's rate limit, before its body is read.

    The /api routes count their own requests, once they hold the session id from the body.
    Reads are not counted: the page, its assets and Gradio's SSE streams come with every visit.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        exempt: tuple[str, ...] = ("/api/", "/console/api/"),
    ):
        self.app = app
        self.limiter = limiter
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in _READS
            and not scope["path"].startswith(self.exempt)
        ):
            client = scope.get("client")
            try:
                self.limiter.check(client[0] if client else None)
            except RateLimited as e:
                await too_many(e.retry_after)(scope, receive, send)
                return
            except SharedStateError as e:
                await shared_down(e)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _profile(settings: Settings) -> Profile:
    from bot.profile import Profile, load_profile

    try:
        return load_profile(settings.knowledge_dir)
    except KefuError:
        return Profile()  # the bot itself reports the problem when it loads


def page_defaults(settings: Settings) -> dict:
    """What the widget and the demo page show before anyone asks: the company profile's
    assistant name, greeting, quick replies and product ids (a broken profile: none)."""
    profile = _profile(settings)
    return {
        "title": profile.assistant,
        "company": profile.company,
        "greeting": profile.greeting,
        "chips": list(profile.suggestions),
        "products": list(profile.product_ids),
        "product_names": [p.name for p in profile.products],
    }


def widget_defaults(settings: Settings, corpus: Corpus | None = None) -> dict:
    """page_defaults plus each product's quick replies (`product_chips`), for data-brand.

    A product whose profile entry lists no suggestions gets its FAQ questions: from `corpus`
    (the loaded bot's), else read from the knowledge folder here, and only when one is needed.
    """
    from bot.profile import product_suggestions

    d = page_defaults(settings)
    profile = (corpus.profile if corpus is not None else None) or _profile(settings)
    faqs = corpus.faqs if corpus is not None else ()
    if corpus is None and not all(p.suggestions for p in profile.products):
        from bot.ingest.loader import load_corpus

        with contextlib.suppress(KefuError):  # broken knowledge: the bot reports it
            faqs = load_corpus(settings.knowledge_dir).faqs
    d["product_chips"] = {k: list(v) for k, v in product_suggestions(profile, faqs).items()}
    return d


def _inject_defaults(rt: Runtime):
    def transform(data: bytes) -> bytes:
        corpus = rt.bot.corpus if rt.bot is not None else None
        # ensure_ascii keeps U+2028 and "</script>"-like text inert in a script.
        blob = json.dumps(widget_defaults(rt.settings, corpus), ensure_ascii=True)
        blob = blob.replace("/", "\\/")
        return data.replace(b"/*kefu:defaults*/ {}", blob.encode())

    return transform


def _fill_demo(settings: Settings):
    def transform(data: bytes) -> bytes:
        d = page_defaults(settings)
        name = d["product_names"][0] if d["product_names"] else d["company"] or "示例商品"
        brand = d["products"][0] if d["products"] else ""
        values = {
            "{{product}}": html.escape(name),
            "{{company}}": html.escape(d["company"] or name),
            "{{title}}": html.escape(d["title"]),
            "{{brand}}": html.escape(brand),
        }
        text = data.decode("utf-8")
        for k, v in values.items():
            text = text.replace(k, v)
        return text.encode("utf-8")

    return transform


def _health(bot: Kefu) -> dict:
    s = bot.settings
    return {
        "status": "ok",
        "model": s.embedding_model,
        "collection": s.collection,
        "chunks": len(bot.retriever.chunks),
        "documents": len(bot.corpus.documents),
        "faqs": len(bot.corpus.faqs),
        "knowledge": bot.corpus.fingerprint[:12],
        "llm": s.llm_model if s.llm_enabled else None,
    }


async def _load(rt: Runtime) -> None:
    """Build the bot in a worker thread; a failure is kept as the 503 reason, not a crash loop."""
    from bot.factory import build_bot

    workers = os.environ.get("WEB_CONCURRENCY", "1")
    if workers.isdigit() and int(workers) > 1 and not rt.settings.redis_url:
        log.warning(
            "kefu: %s workers without KEFU_REDIS_URL: each keeps its own conversations and rate "
            "limits, so a follow-up may reach a worker that never saw the conversation",
            workers,
        )
    try:
        rt.bot = await asyncio.to_thread(build_bot, rt.settings)
        log.info("kefu: bot loaded (%d chunks)", len(rt.bot.retriever.chunks))
    except KefuError as e:
        rt.error = str(e)
        log.error("kefu: bot failed to load: %s", e)
    except Exception:
        rt.error = "服务启动失败,请联系管理员查看日志。"
        log.exception("kefu: bot failed to load")


async def _follow_index(rt: Runtime) -> None:
    """Load each newly published index version (a re-ingest) in the background and switch to
    it in one assignment: a request is answered wholly by the old bot or wholly by the new."""
    from bot.factory import build_bot

    failed: str | None = None
    while True:
        await asyncio.sleep(rt.settings.index_reload_s)
        bot = rt.bot
        if bot is None:
            continue
        try:
            version = await asyncio.to_thread(bot.retriever.store.current_version)
        except Exception:
            log.warning("kefu: could not read the published index version", exc_info=True)
            continue
        if version in (bot.index_version, failed):
            continue
        log.info("kefu: index %s published (serving %s): loading it", version, bot.index_version)
        try:
            new = await asyncio.to_thread(
                build_bot, rt.settings, embedder=bot.retriever.embedder, tickets=bot.tickets
            )
        except Exception as e:  # a half-edited knowledge folder, say: keep serving the old
            failed = version
            log.error(
                "kefu: index %s not loaded, still serving %s: %s", version, bot.index_version, e
            )
            continue
        failed = None
        rt.bot = new
        if bot.webhook is not None:
            await asyncio.to_thread(bot.webhook.stop)
        log.info(
            "kefu: now serving index %s (%d chunks)", new.index_version, len(new.retriever.chunks)
        )


def create_app(
    settings: Settings | None = None,
    bot: Kefu | None = None,
    *,
    feedback: FeedbackStore | None = None,
    static_dir: Path = STATIC_DIR,
    ui: bool = True,
) -> FastAPI:
    """Build the ASGI app. Pass a ready bot in tests; else the lifespan builds one from settings.

    Nothing heavy happens here: the model, the index and the databases open in the lifespan.
    """
    if settings is None:
        if bot is not None:
            settings = bot.settings
        else:
            from bot.settings import Settings

            settings = Settings()
    rt = Runtime(settings=settings, limiter=rate_limiter(settings), feedback=feedback)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        if rt.feedback is None:
            from bot.feedback import FeedbackStore

            try:
                rt.feedback = await asyncio.to_thread(FeedbackStore, settings.tickets_db_url)
            except Exception:
                log.exception("kefu: feedback store unavailable")  # /api/feedback answers 503
        loading = following = None
        if bot is not None:
            rt.bot = bot
        else:
            loading = asyncio.create_task(_load(rt))
            if settings.index_reload_s > 0:
                following = asyncio.create_task(_follow_index(rt))
        yield
        for task in (loading, following):
            if task is not None and not task.done():
                task.cancel()  # a worker thread finishes on its own; nobody waits for it

    app = FastAPI(
        title="kefu 售后助手 API",
        description='售后问答:每条回答注明出处,没把握时转人工。错误统一为 JSON:{"error": "中文说明"}。',
        lifespan=lifespan,
    )
    app.state.runtime = rt
    install_error_handlers(app)

    # Middleware added last runs first. The /api limit (the tighter one) reads a body before
    # the UI's limit sees it; CORS wraps both, so a 413 or 429 carries CORS headers; every
    # response gets the security headers; and the client address is settled before anything
    # else reads it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.ui_max_body_bytes, prefix="/")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, prefix="/wechat/")
    app.add_middleware(UIRateLimitMiddleware, limiter=rt.limiter)
    app.add_middleware(
        WarningCORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-Kefu-Session"],
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.trusted_proxies:
        # uvicorn's own: X-Forwarded-For read right to left past trusted hops (stdlib
        # ipaddress, networks too), and only when the peer is trusted. Without trusted proxies
        # it is left out, so forwarded headers never name the client.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    @app.get("/healthz", summary="模型与索引是否已加载", responses={503: {}})
    async def healthz():
        if rt.bot is None:
            return error(503, rt.error or LOADING, headers={"Retry-After": "10"})
        return _health(rt.bot)

    app.include_router(api_router(rt))
    from bot.console.routes import console_router

    app.include_router(console_router(rt))
    if settings.wechat_token is not None or settings.wecom_token is not None:
        from bot.channels.wechat import wechat_router

        wechat = wechat_router(rt)  # /wechat/oa and /wechat/wecom, each when its token is set
        app.state.wechat = wechat.hub
        app.include_router(wechat)

    widget = StaticFile(
        static_dir / "widget.js",
        "application/javascript; charset=utf-8",
        "public, max-age=3600",
        transform=_inject_defaults(rt),
    )
    demo_page = StaticFile(
        static_dir / "demo.html",
        "text/html; charset=utf-8",
        "no-cache",
        transform=_fill_demo(settings),
    )

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js(request: Request) -> Response:
        return await widget(request)

    @app.get("/widget/demo", include_in_schema=False)
    async def widget_demo(request: Request) -> Response:
        return await demo_page(request)

    if not ui:
        return app
    import gradio as gr

    from bot.web.ui import build_ui

    # Mounted last: routes above (/docs, /openapi.json, /api/*, /widget*, /healthz) match first.
    return gr.mount_gradio_app(app, build_ui(rt), path="/")
