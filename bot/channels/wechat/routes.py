"""The callbacks: ``/wechat/oa`` (Official Account) and ``/wechat/wecom`` (WeCom app).

A text message is answered by the same chain as the web, under the session id
``wechat:<channel>:<user>`` (memory, tickets and the console per WeChat user). WeChat waits 5 s
and then asks again, three times: the message's key is claimed in the database first, so a
retry, or the same message at another worker, is answered "success" and nothing else; the
answer goes back as the passive reply when it is ready within ``wechat_reply_within_s``, else
the callback answers "success" at once and the answer follows through the API (the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.channels.wechat.crypto import Envelope, Refused, check_fresh, check_plain
from bot.channels.wechat.messages import (
    TEXT_ONLY,
    BadMessage,
    Inbound,
    answer_text,
    parse_inbound,
    plain,
    render_reply,
)
from bot.channels.wechat.relay import Relay
from bot.channels.wechat.store import WeChatStore

if TYPE_CHECKING:
    from bot.channels.wechat.client import DeliveryError
    from bot.channels.wechat.store import Outgoing
    from bot.web.api import Runtime

log = logging.getLogger("kefu.wechat")

XML_TYPES = ("text/xml", "application/xml")
LOADING = "客服助手正在启动,请稍后再发一次。"
BUSY = "服务暂时繁忙,请稍后再试。"
FAILED = "抱歉,系统出了点问题,请稍后再试或发送“转人工”。"
GREETING = "您好,欢迎咨询售后服务,请问有什么可以帮您?"
HELD_NOTE = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "shortvideo": "[视频]"}
FORGET_AFTER_S = 2 * 86_400  # message keys kept this long: WeChat's retries end within 20 s


class _Turn:
    """One answer being computed: the callback takes it if it is ready in time; otherwise it
    marks the turn late, and the worker thread sends the answer through the API instead."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = False
        self.late = False
        self.text = ""


class Hub:
    """What both callbacks share: the store, the API senders and the relay thread."""

    def __init__(self, rt: Runtime, *, poll_s: float = 1.0):
        self.rt = rt
        self.poll_s = poll_s
        self._store: WeChatStore | None = None
        self._relay: Relay | None = None
        self._staff = None
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._last_forget = 0.0

    # -- wiring (opened on first use, or by the router's lifespan) -----------------------------
    @property
    def store(self) -> WeChatStore:
        self._open()
        return self._store

    @property
    def relay(self) -> Relay:
        self._open()
        return self._relay

    def _open(self) -> None:
        if self._relay is not None:
            return
        with self._lock:
            if self._relay is not None:
                return
            from bot.channels.wechat.client import OfficialAccountSender, WeComSender

            s = self.rt.settings
            store = WeChatStore(s.tickets_db_url)
            senders = {}
            if s.wechat_token is not None:
                senders["oa"] = OfficialAccountSender(
                    store,
                    s.wechat_app_id,
                    s.wechat_app_secret.get_secret_value(),
                    s.wechat_api_base,
                )
            if s.wecom_token is not None:
                senders["wecom"] = WeComSender(
                    store,
                    s.wecom_corp_id,
                    s.wecom_agent_id,
                    s.wecom_secret.get_secret_value(),
                    s.wechat_api_base,
                )
            self._store = store
            self._relay = Relay(
                store,
                senders,
                conversations=lambda: self.rt.bot.conversations if self.rt.bot else None,
                on_failure=self._record_failure,
                poll_s=self.poll_s,
            )

    def start(self) -> None:
        self.relay.start()

    def stop(self) -> None:
        if self._relay is not None:
            self._relay.stop()

    # -- a message in ------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> str:
        """The passive reply's text for `inbound`; "" means answer "success" (nothing now)."""
        if not await run_in_threadpool(self.store.claim_inbound, inbound.key):
            log.info("wechat: %s seen before (a retry or another worker): success", inbound.key)
            return ""
        await run_in_threadpool(self._forget_old)
        if inbound.kind == "event":
            text = await run_in_threadpool(self._greeting) if inbound.event == "subscribe" else ""
            await run_in_threadpool(self.store.settle_inbound, inbound.key, "passive")
            return text
        if inbound.kind == "other":
            return await run_in_threadpool(self._not_text, inbound)
        return await self._answer_in_time(inbound)

    async def _answer_in_time(self, inbound: Inbound) -> str:
        turn = _Turn()
        task = asyncio.ensure_future(run_in_threadpool(self._work, inbound, turn))
        self._tasks.add(task)  # keep a reference until the thread is done
        task.add_done_callback(self._tasks.discard)
        budget = self.rt.settings.wechat_reply_within_s
        # shield: the timeout stops the waiting, never the answer.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=budget)
        with turn.lock:
            if turn.done:
                outcome, text = "passive", turn.text
            else:
                turn.late, outcome, text = True, "outbox", ""
        await run_in_threadpool(self.store.settle_inbound, inbound.key, outcome)
        return text

    def _work(self, inbound: Inbound, turn: _Turn) -> None:
        text, ticket_id = self._answer(inbound)
        with turn.lock:
            if not turn.late:
                turn.text, turn.done = text, True
                return
        if text:
            self.store.enqueue(
                f"reply:{inbound.key}",
                inbound.channel,
                inbound.user,
                inbound.session_id,
                text,
                ticket_id=ticket_id,
            )
            self.start()  # normally running since the lifespan; started here if it never ran
            self.relay.notify()

    def _answer(self, inbound: Inbound) -> tuple[str, str | None]:
        """The bot's answer as WeChat text, and its ticket; never raises."""
        from bot.errors import InputError, SharedStateError
        from bot.web.api import NotReady
        from bot.web.limits import TOO_MANY, RateLimited

        try:
            bot = self.rt.ready()
        except NotReady:
            return LOADING, None
        try:
            # One budget per WeChat user: every request comes from WeChat's own servers, so
            # the client address would put all customers on one budget.
            self.rt.limiter.check(inbound.session_id)
            answer = bot.ask(inbound.content, inbound.session_id)
        except RateLimited:
            return TOO_MANY, None
        except InputError as e:  # empty, junk or too long: its message is for the customer
            return str(e), None
        except SharedStateError as e:
            log.error("%s", e)
            return BUSY, None
        except Exception:
            log.exception("wechat: the bot failed on %s", inbound.key)
            return FAILED, None
        if answer.reason == "held":  # an agent has it: the bot says at most its one notice
            return plain(answer.text or ""), answer.ticket_id
        return answer_text(answer), answer.ticket_id

    def _not_text(self, inbound: Inbound) -> str:
        """Images, voice, files...: a line saying text only, unless an agent holds the
        conversation: then the console is told something came, and the bot stays silent."""
        self.store.settle_inbound(inbound.key, "passive")
        bot = self.rt.bot
        if (
            bot is not None
            and bot.tickets is not None
            and bot.conversations is not None
            and bot.tickets.holder(inbound.session_id) is not None
        ):
            note = HELD_NOTE.get(inbound.msg_type, f"[{inbound.msg_type}]")
            bot.conversations.append(inbound.session_id, "customer", note + "(请在微信中查看)")
            return ""
        return TEXT_ONLY

    def _greeting(self) -> str:
        bot = self.rt.bot
        if bot is not None and bot.profile.greeting:
            return bot.profile.greeting
        from bot.errors import KefuError
        from bot.profile import load_profile

        try:
            return load_profile(self.rt.settings.knowledge_dir).greeting or GREETING
        except KefuError:
            return GREETING

    def _forget_old(self) -> None:
        now = time.monotonic()
        if now - self._last_forget < 3600:
            return
        self._last_forget = now
        import datetime as dt

        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=FORGET_AFTER_S)
        try:
            self.store.forget_before(cutoff)
        except Exception:
            log.exception("wechat: could not prune old message keys")

    # -- a message that could not go out -----------------------------------------------------
    def _record_failure(self, item: Outgoing, error: DeliveryError) -> None:
        """On the conversation's ticket, where the agent sees it (the console's audit log)."""
        ticket_id = item.ticket_id
        bot = self.rt.bot
        if ticket_id is None and bot is not None and bot.tickets is not None:
            ticket = bot.tickets.open_for(item.session_id)
            ticket_id = ticket.ticket_id if ticket is not None else None
        if ticket_id is None:
            return  # no ticket to put it on: the outbox row keeps the error
        if self._staff is None:
            from bot.console.staff import StaffStore

            self._staff = StaffStore(self.rt.settings.tickets_db_url)
        self._staff.log(
            "wechat", "wechat_undelivered", ticket_id, f"{error}; 未送达:{item.text[:200]}"
        )


# -- the routes --------------------------------------------------------------------------------
def _refused(why: str) -> Response:
    log.warning("wechat: refused a callback: %s", why)
    return PlainTextResponse("forbidden", status_code=403)


def _bad(why: str) -> Response:
    log.warning("wechat: unreadable callback: %s", why)
    return PlainTextResponse("bad request", status_code=400)


def _wrong_type(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return bool(ctype) and ctype not in XML_TYPES


def _xml(text: str) -> Response:
    return Response(text.encode("utf-8"), media_type="application/xml")


def wechat_router(rt: Runtime, *, poll_s: float = 1.0) -> APIRouter:
    """The routes of the configured accounts; the Hub is the router's ``hub`` attribute."""
    hub = Hub(rt, poll_s=poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        await asyncio.to_thread(hub.start)  # also sends what an earlier run left in the outbox
        yield
        await asyncio.to_thread(hub.stop)

    router = APIRouter(lifespan=lifespan, include_in_schema=False)
    router.hub = hub
    s = rt.settings
    skew = s.wechat_max_clock_skew_s

    if s.wechat_token is not None:
        token = s.wechat_token.get_secret_value()
        envelope = (
            Envelope("oa", token, s.wechat_aes_key.get_secret_value(), s.wechat_app_id)
            if s.wechat_aes_key is not None
            else None
        )

        @router.get("/wechat/oa")
        async def oa_verify(
            signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
        ) -> Response:
            try:
                check_fresh(timestamp, skew)
                check_plain(token, signature, timestamp, nonce)
            except Refused as e:
                return _refused(str(e))
            return Response(echostr.encode("utf-8"), media_type="text/plain")  # as sent

        @router.post("/wechat/oa")
        async def oa_message(
            request: Request,
            signature: str = "",
            timestamp: str = "",
            nonce: str = "",
            encrypt_type: str = "",
            msg_signature: str = "",
        ) -> Response:
            try:
                check_fresh(timestamp, skew)
                check_plain(token, signature, timestamp, nonce)
                if envelope is not None and encrypt_type.lower() != "aes":
                    raise Refused("safe mode is on: a plain message is refused")
            except Refused as e:
                return _refused(str(e))
            if _wrong_type(request):
                return PlainTextResponse("unsupported media type", status_code=415)
            body = await request.body()
            try:
                xml = envelope.open(body, msg_signature, timestamp, nonce) if envelope else body
                inbound = parse_inbound(xml, "oa")
            except Refused as e:
                return _refused(str(e))
            except BadMessage as e:
                return _bad(str(e))
            text = await hub.handle(inbound)
            if not text:
                return PlainTextResponse("success")
            reply = render_reply(text, inbound)
            if envelope is not None:
                reply = envelope.seal(reply, nonce, str(int(time.time())))
            return _xml(reply)

    if s.wecom_token is not None:
        wecom = Envelope(
            "wecom",
            s.wecom_token.get_secret_value(),
            s.wecom_aes_key.get_secret_value(),
            s.wecom_corp_id,
        )
        agent_id = str(s.wecom_agent_id)

        @router.get("/wechat/wecom")
        async def wecom_verify(
            msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
        ) -> Response:
            # Answered from the settings alone, loaded bot or not: WeCom allows 1 s.
            try:
                check_fresh(timestamp, skew)
                plaintext = wecom.echo(msg_signature, timestamp, nonce, echostr)
            except Refused as e:
                return _refused(str(e))
            except BadMessage as e:
                return _bad(str(e))
            # The bare plaintext: no quotes, no BOM, no newline.
            return Response(plaintext.encode("utf-8"), media_type="text/plain")

        @router.post("/wechat/wecom")
        async def wecom_message(
            request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = ""
        ) -> Response:
            try:
                check_fresh(timestamp, skew)
            except Refused as e:
                return _refused(str(e))
            if _wrong_type(request):
                return PlainTextResponse("unsupported media type", status_code=415)
            body = await request.body()
            try:
                inbound = parse_inbound(wecom.open(body, msg_signature, timestamp, nonce), "wecom")
            except Refused as e:
                return _refused(str(e))
            except BadMessage as e:
                return _bad(str(e))
            if inbound.agent_id != agent_id:
                # Sealed with our key, so from WeChat, but for another app of the company.
                log.warning("wechat: a WeCom message for AgentID %s ignored", inbound.agent_id)
                return PlainTextResponse("success")
            text = await hub.handle(inbound)
            if not text:
                return PlainTextResponse("success")
            reply = wecom.seal(render_reply(text, inbound), nonce, str(int(time.time())))
            return _xml(reply)

    return router
