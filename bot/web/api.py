"""The JSON API under /api: chat, streamed chat (SSE), tickets and feedback, with JSON errors."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from bot.errors import IndexMissingError, InputError, SharedStateError, TooLongError
from bot.feedback import MAX_COMMENT_CHARS, turn_belongs
from bot.guard.pii import contact_value
from bot.web.limits import TOO_MANY, RateLimited

if TYPE_CHECKING:
    from bot.chain import Kefu
    from bot.feedback import FeedbackStore
    from bot.settings import Settings
    from bot.web.limits import RateLimiter

log = logging.getLogger("kefu.web")

SESSION_ID = r"^[A-Za-z0-9_.:\-]{1,200}$"
# Never the transcript or the contact: a ticket id alone must not reveal the conversation.
TICKET_PUBLIC = (
    "ticket_id",
    "status",
    "category",
    "priority",
    "priority_label",
    "summary",
    "created_at",
    "updated_at",
)

LONG_POLL_S = 25.0  # /api/messages holds a request open this long at most
POLL_EVERY_S = 0.25  # how often a held request looks for new messages (any worker wrote them)
LOADING = "服务正在启动,模型和索引加载中,请稍后再试。"
INTERNAL = "服务内部错误,请稍后再试。"
SHARED_DOWN = "服务暂时繁忙(会话存储暂不可用),请稍后再试。"
NO_TICKET = "未找到该工单,请核对工单号。"
NO_TURN = "未找到这条回答,无法评价。"
NO_SESSION = "请提供会话 ID(查询参数 session_id 或请求头 X-Kefu-Session)。"
BAD_JSON = "请求体不是有效的 JSON。"
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
HTTP_MESSAGES = {
    404: "接口不存在。",
    405: "该接口不支持此请求方法。",
}


class NotReady(Exception):
    """The bot is still loading, or loading failed (the reason is the message)."""


@dataclasses.dataclass
class Runtime:
    """What the routes and the UI share; the lifespan fills in the bot once it has loaded."""

    settings: Settings
    limiter: RateLimiter
    bot: Kefu | None = None
    feedback: FeedbackStore | None = None
    error: str | None = None  # why loading failed, shown in 503s

    def ready(self) -> Kefu:
        if self.bot is None:
            raise NotReady(self.error or LOADING)
        return self.bot


# -- request bodies -----------------------------------------------------------------------
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _encodable(value: str | None) -> str | None:
    """JSON may carry "\\ud800", a character no file or database can store."""
    if value is not None and _SURROGATE.search(value):
        raise ValueError("含有无法识别的字符(孤立的代理码位)")
    return value


Text = Annotated[str, AfterValidator(_encodable)]


class ChatRequest(BaseModel):
    question: str = Field(..., description="顾客的问题")
    session_id: str | None = Field(None, pattern=SESSION_ID, description="会话 ID;不传则新建")
    brand: Text | None = Field(
        None, max_length=41, description="限定产品:公司资料(kefu.yaml)中产品的 id"
    )


class TicketRequest(BaseModel):
    session_id: str = Field(..., pattern=SESSION_ID)
    brand: Text | None = Field(None, max_length=41, description="限定产品(产品 id)")
    contact: Text | None = Field(None, max_length=200, description="联系方式(需同意后才保存)")
    consent: bool = Field(False, description="顾客同意保存联系方式")


class FeedbackRequest(BaseModel):
    session_id: str = Field(..., pattern=SESSION_ID)
    turn_id: Text = Field(..., max_length=240, description="回答里的 turn_id")
    rating: Literal["up", "down"]
    comment: Text | None = Field(None, max_length=MAX_COMMENT_CHARS)


# -- helpers ------------------------------------------------------------------------------
def error(status: int, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    """The one error shape: {"error": "<中文说明>", ...}."""
    return JSONResponse(status_code=status, content={"error": message, **extra}, headers=headers)


def too_many(retry_after: int) -> JSONResponse:
    return error(429, TOO_MANY, headers={"Retry-After": str(retry_after)})


def shared_down(exc: SharedStateError) -> JSONResponse:
    log.error("%s", exc)
    return error(503, SHARED_DOWN, headers={"Retry-After": "5"})


async def long_poll(request: Request, wait: float, fetch, done=bool):
    """`fetch()` (in a worker thread) until `done(result)`, `wait` seconds pass or the client
    goes away; returns the last result. What another worker writes is seen at the next look."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        result = await run_in_threadpool(fetch)
        if done(result) or loop.time() >= deadline or await request.is_disconnected():
            return result
        await asyncio.sleep(POLL_EVERY_S)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _input_status(e: InputError) -> int:
    # Over-long questions are "too large"; everything else the guard rejects is bad input.
    return 413 if isinstance(e, TooLongError) else 400


async def _events(
    first: dict | None, events: Iterator[dict], session_id: str
) -> AsyncIterator[str]:
    """SSE frames for the bot's events: deltas, then one final; failures become an error event."""
    finals = 0
    try:
        event = first
        while event is not None:
            if event.get("event") == "delta":
                yield _sse("delta", {"text": event["text"]})
            elif event.get("event") == "final" and finals == 0:
                finals += 1
                yield _sse("final", {**event["answer"].public(), "session_id": session_id})
            # Drain to the end: the bot records the turn after its final event.
            event = await run_in_threadpool(next, events, None)
        if not finals:
            log.error("bot.stream ended without a final event")
            yield _sse("error", {"error": INTERNAL, "status": 500})
    except InputError as e:
        yield _sse("error", {"error": str(e), "status": _input_status(e)})
    except IndexMissingError as e:
        yield _sse("error", {"error": str(e), "status": 503})
    except Exception:
        log.exception("chat stream failed")
        yield _sse("error", {"error": INTERNAL, "status": 500})
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            # ValueError: still running in a worker thread (client gone); it ends on its own.
            with contextlib.suppress(ValueError):
                close()


def _check_brand(bot: Kefu, brand: str | None) -> None:
    """A product id the company profile lists, or none: anything else is a 422 like any other
    invalid field."""
    if brand is not None and brand not in bot.profile.product_ids:
        known = ", ".join(bot.profile.product_ids) or "(none)"
        raise RequestValidationError(
            [
                {
                    "type": "enum",
                    "loc": ("body", "brand"),
                    "msg": f"Input should be one of: {known}",
                    "input": brand,
                }
            ]
        )


# -- routes -------------------------------------------------------------------------------
def api_router(rt: Runtime) -> APIRouter:
    """The /api routes over a Runtime."""
    r = APIRouter(prefix="/api", tags=["api"])

    @r.post("/chat", summary="问一个问题", responses={400: {}, 413: {}, 422: {}, 429: {}, 503: {}})
    async def chat(req: ChatRequest, request: Request) -> dict:
        bot = rt.ready()
        _check_brand(bot, req.brand)
        rt.limiter.check(_client_ip(request), req.session_id)
        session_id = req.session_id or uuid.uuid4().hex
        answer = await run_in_threadpool(bot.ask, req.question, session_id, req.brand)
        return {**answer.public(), "session_id": session_id}

    @r.post(
        "/chat/stream",
        summary="问一个问题,回答以 SSE 流式返回",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "event: delta / data: {text},…;然后 event: final / data: 与 /api/chat 相同的对象;"
                "中途出错为 event: error / data: {error, status}",
            },
            400: {},
            413: {},
            422: {},
            429: {},
            503: {},
        },
    )
    async def chat_stream(req: ChatRequest, request: Request) -> StreamingResponse:
        bot = rt.ready()
        _check_brand(bot, req.brand)
        rt.limiter.check(_client_ip(request), req.session_id)
        session_id = req.session_id or uuid.uuid4().hex
        events = await run_in_threadpool(bot.stream, req.question, session_id, req.brand)
        # The first event is pulled before the response starts, so input errors get a status code.
        first = await run_in_threadpool(next, events, None)
        return StreamingResponse(
            _events(first, events, session_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @r.post("/tickets", status_code=201, summary="转人工:开工单(同一会话重复请求返回同一工单)")
    async def open_ticket(
        req: TicketRequest,
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=200,
                pattern=r"^[\x21-\x7e]+$",
                description="重试同一请求时带上同一个值,返回同一张工单",
            ),
        ] = None,
    ):
        bot = rt.ready()
        _check_brand(bot, req.brand)
        if req.contact and req.consent and contact_value(req.contact) is None:
            return error(422, "联系方式请填写手机号、座机号码或邮箱地址。")
        rt.limiter.check(_client_ip(request), req.session_id)
        answer = await run_in_threadpool(
            partial(
                bot.handoff,
                req.session_id,
                brand=req.brand,
                contact=req.contact,
                consent=req.consent,
                lang="zh",
                request_key=idempotency_key,
            )
        )
        if not answer.ticket_id:
            return error(503, answer.text or "工单系统暂时不可用,请稍后再试。")
        ticket = await run_in_threadpool(bot.ticket, answer.ticket_id, req.session_id)
        return JSONResponse(
            status_code=201,
            content={
                "ticket_id": answer.ticket_id,
                "status": ticket.status if ticket else "open",
                "priority": ticket.priority if ticket else None,
                "message": answer.text,
                "session_id": req.session_id,
            },
        )

    @r.get("/tickets/{ticket_id}", summary="查询本会话的工单", responses={404: {}})
    async def get_ticket(
        ticket_id: str = Path(..., max_length=32),
        session_id: str | None = Query(None, pattern=SESSION_ID),
        x_kefu_session: str | None = Header(None, pattern=SESSION_ID),
    ):
        bot = rt.ready()
        sid = session_id or x_kefu_session
        if not sid:
            return error(400, NO_SESSION)
        ticket = await run_in_threadpool(bot.ticket, ticket_id, sid)
        if ticket is None:  # unknown, or another session's: the same answer either way
            return error(404, NO_TICKET)
        fields = dataclasses.asdict(ticket)
        fields["updated_at"] = fields.get("updated_at") or fields.get("created_at")
        return {k: fields.get(k) for k in TICKET_PUBLIC}

    @r.get(
        "/messages",
        summary="本会话的新消息(人工客服的回复等);wait>0 时长轮询,有新消息即返回",
        responses={400: {}, 429: {}, 503: {}},
    )
    async def messages(
        request: Request,
        session_id: str | None = Query(None, pattern=SESSION_ID),
        x_kefu_session: str | None = Header(None, pattern=SESSION_ID),
        after: int = Query(0, ge=0, description="已收到的最大消息 id"),
        wait: float = Query(0, ge=0, le=LONG_POLL_S, description="最多等待秒数"),
    ):
        bot = rt.ready()
        sid = session_id or x_kefu_session
        if not sid:
            return error(400, NO_SESSION)
        if bot.conversations is None:
            return {"messages": [], "held": False, "last_id": after}
        rt.limiter.check(_client_ip(request), sid)
        found = await long_poll(request, wait, lambda: bot.conversations.since(sid, after))
        held = await run_in_threadpool(bot.tickets.holder, sid) if bot.tickets else None
        return {
            "messages": [m.public() for m in found],
            "held": held is not None,
            "last_id": found[-1].id if found else after,
        }

    @r.post("/feedback", status_code=201, summary="评价一条回答(赞/踩);再次评价会覆盖")
    async def feedback(req: FeedbackRequest, request: Request):
        rt.limiter.check(_client_ip(request), req.session_id)
        if not turn_belongs(req.turn_id, req.session_id):
            return error(404, NO_TURN)
        if rt.feedback is None:
            raise NotReady(rt.error or LOADING)
        fb = await run_in_threadpool(
            rt.feedback.record, req.session_id, req.turn_id, req.rating, req.comment
        )
        return JSONResponse(status_code=201, content=dataclasses.asdict(fb))

    @r.api_route("/{path:path}", methods=list(_ALL_METHODS), include_in_schema=False)
    async def unknown(path: str, request: Request):
        # Without this, the Gradio app mounted at / would answer unknown /api paths itself.
        if any(x.matches(request.scope)[0] == Match.PARTIAL for x in r.routes):
            return error(405, HTTP_MESSAGES[405])  # a known path, another method
        return error(404, HTTP_MESSAGES[404])

    return r


def _printable(value) -> str:
    """Text that JSON can carry: lone surrogates (from "\\ud800" in a request) replaced."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def install_error_handlers(app: FastAPI) -> None:
    """Every error the API returns is JSON {"error": "<中文>"} with the fitting status."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        # Never the input itself: a lone surrogate or 1e400 cannot be written as JSON, and a
        # hostile value has no business being echoed back.
        errors = [
            {
                "type": _printable(e.get("type", "")),
                "loc": [x if isinstance(x, int) else _printable(x) for x in e.get("loc", ())],
                "msg": _printable(e.get("msg", "")),
            }
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in errors):
            return error(400, BAD_JSON, detail=errors)
        fields = sorted({".".join(str(x) for x in e.get("loc", ())[1:]) for e in errors} - {""})
        where = f"({', '.join(fields)})" if fields else ""
        return error(422, f"请求参数不符合要求{where},详见 detail。", detail=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    async def _input(_request: Request, exc: InputError):
        return error(_input_status(exc), str(exc))

    @app.exception_handler(IndexMissingError)
    async def _index(_request: Request, exc: IndexMissingError):
        return error(503, str(exc))

    @app.exception_handler(NotReady)
    async def _not_ready(_request: Request, exc: NotReady):
        return error(503, str(exc), headers={"Retry-After": "10"})

    @app.exception_handler(RateLimited)
    async def _limited(_request: Request, exc: RateLimited):
        return too_many(exc.retry_after)

    @app.exception_handler(SharedStateError)
    async def _shared_down(_request: Request, exc: SharedStateError):
        return shared_down(exc)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception):
        log.error("unhandled error", exc_info=exc)
        return error(500, INTERNAL)
