"""The console's web routes under /console: login, the inbox, a ticket, and its JSON API.

Anonymous requests to a page are redirected to /console/login; to the API they get 401.
Every POST needs the login's CSRF token. Admin-only actions answer an agent with 403.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from bot.console.auth import COOKIE, LOGIN_COOKIE, Login, Signer, console_secret, same_token
from bot.console.desk import Desk, DeskError
from bot.console.staff import LockedOut, StaffStore
from bot.errors import InputError
from bot.web.api import LONG_POLL_S, long_poll

if TYPE_CHECKING:
    from bot.web.api import Runtime

NOT_LOGGED_IN = "请先登录客服工作台。"
BAD_CSRF = "请求缺少有效的 CSRF 令牌,请刷新页面后重试。"
ADMIN_ONLY = "只有管理员可以执行此操作。"


class TextBody(BaseModel):
    text: str = Field(..., max_length=4000)


class StageBody(BaseModel):
    stage: str = Field(..., max_length=20)
    reason: str = Field("", max_length=400)


class AssignBody(BaseModel):
    to: str = Field(..., max_length=64)


class FaqBody(BaseModel):
    question: str = Field(..., max_length=1000)
    answer: str = Field(..., max_length=4000)


class StaffBody(BaseModel):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=200)
    role: str = Field("agent", max_length=10)


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


class Console:
    """What the routes share: the staff store, the cookie signer and the desk (once the bot
    has loaded)."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        s = rt.settings
        self.cookie_age = int(s.console_session_hours * 3600)
        self._staff: StaffStore | None = None
        self._signer: Signer | None = None
        self._desk: Desk | None = None
        self._lock = asyncio.Lock()

    async def staff(self) -> StaffStore:
        if self._staff is None:
            async with self._lock:
                if self._staff is None:
                    s = self.rt.settings
                    self._signer = Signer(
                        await run_in_threadpool(console_secret, s), self.cookie_age
                    )
                    self._staff = await run_in_threadpool(
                        lambda: StaffStore(
                            s.tickets_db_url,
                            max_failures=s.console_max_failures,
                            lockout_minutes=s.console_lockout_minutes,
                        )
                    )
        return self._staff

    async def signer(self) -> Signer:
        await self.staff()
        return self._signer

    def desk(self) -> Desk:
        bot = self.rt.ready()
        if self._desk is None or self._desk.bot is not bot:  # a new index version was loaded
            s = self.rt.settings
            self._desk = Desk(bot, self._staff, s.knowledge_dir / s.console_faq_dir)
        return self._desk

    async def login(self, request: Request) -> Login | None:
        staff = await self.staff()
        return await run_in_threadpool(self._signer.login, request.cookies.get(COOKIE), staff)


def console_router(rt: Runtime) -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)
    con = Console(rt)
    secure = rt.settings.console_secure_cookie

    def cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/console",
        )

    async def authorize(request: Request, *, write: bool, admin=False) -> Login | Response:
        """The caller's login, or the 401/403 to answer: no login, no CSRF token on a write,
        not an admin where one is needed."""
        login = await con.login(request)
        if login is None:
            return _json_error(401, NOT_LOGGED_IN)
        if write and not same_token(login.csrf, request.headers.get("x-csrf-token")):
            return _json_error(403, BAD_CSRF)
        if admin and not login.staff.admin:
            return _json_error(403, ADMIN_ONLY)
        return login

    async def api(
        request: Request,
        action: Callable[..., object],
        *,
        write: bool,
        admin=False,
        body_type: type[BaseModel] | None = None,
    ):
        """Run `action(login, desk)` in a worker thread, behind the login, CSRF and role checks;
        with `body_type`, `action(login, desk, body)`, the body read only after those checks,
        so an anonymous caller learns nothing from a validation error."""
        login = await authorize(request, write=write, admin=admin)
        if isinstance(login, Response):
            return login
        args = ()
        if body_type is not None:
            try:
                args = (body_type.model_validate_json(await request.body() or b"{}"),)
            except ValidationError as e:
                fields = sorted({str(x["loc"][0]) for x in e.errors() if x["loc"]})
                return _json_error(422, f"请求参数不符合要求({', '.join(fields)})。")
        try:
            desk = con.desk()
            return await run_in_threadpool(action, login, desk, *args)
        except DeskError as e:
            return _json_error(e.status, str(e))

    async def page(request: Request):
        login = await con.login(request)
        if login is None:
            return None, RedirectResponse("/console/login", status_code=303)
        return login, None

    # -- login -------------------------------------------------------------------------
    @r.get("/login")
    async def login_form(request: Request):
        from bot.console.pages import login_page

        if await con.login(request) is not None:
            return RedirectResponse("/console", status_code=303)
        token = secrets.token_urlsafe(24)
        response = HTMLResponse(login_page(token), headers={"Cache-Control": "no-store"})
        cookie(response, LOGIN_COOKIE, token, 3600)
        return response

    @r.post("/login")
    async def login_submit(
        request: Request,
        username: str = Form("", max_length=64),
        password: str = Form("", max_length=200),
        csrf_token: str = Form("", max_length=100),
    ):
        from bot.console.pages import login_page

        def again(status: int, message: str) -> HTMLResponse:
            token = secrets.token_urlsafe(24)
            response = HTMLResponse(login_page(token, message, username), status_code=status)
            cookie(response, LOGIN_COOKIE, token, 3600)
            return response

        if not same_token(request.cookies.get(LOGIN_COOKIE), csrf_token):
            return again(403, "登录页已过期,请重新输入。")
        staff = await con.staff()
        try:
            who = await run_in_threadpool(staff.verify, username, password)
        except LockedOut as e:
            return again(429, f"密码错误次数过多,账号已锁定至 {e.until:%H:%M} UTC,请稍后再试。")
        if who is None:
            return again(401, "用户名或密码错误。")
        value, _csrf = (await con.signer()).cookie_for(who)
        await run_in_threadpool(staff.log, who.username, "login")
        response = RedirectResponse("/console", status_code=303)
        cookie(response, COOKIE, value, con.cookie_age)
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    @r.post("/logout")
    async def logout(request: Request, csrf_token: str = Form("", max_length=100)):
        login = await con.login(request)
        if login is None:
            return RedirectResponse("/console/login", status_code=303)
        if not same_token(login.csrf, csrf_token):
            return _json_error(403, BAD_CSRF)
        staff = await con.staff()
        await run_in_threadpool(staff.end_sessions, login.staff.username)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- pages -------------------------------------------------------------------------
    @r.get("")
    async def inbox(
        request: Request,
        stage: str = Query("active", max_length=20),
        priority: int | None = Query(None, ge=0, le=9),
        q: str = Query("", max_length=100),
        page_no: int = Query(1, alias="page", ge=1, le=100_000),
        mine: str = Query("", max_length=5),
    ):
        from bot.console.pages import inbox_page

        login, redirect = await page(request)
        if redirect:
            return redirect
        per_page = 25
        try:
            desk = con.desk()
            total, tickets = await run_in_threadpool(
                desk.inbox,
                stage,
                priority,
                q,
                page_no,
                per_page,
                login.staff.username if mine else None,
            )
        except DeskError as e:
            return _json_error(e.status, str(e))
        filters = {"stage": stage, "priority": priority, "q": q, "page": page_no, "mine": mine}
        html = inbox_page(login.staff, login.csrf, total, tickets, filters, per_page)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @r.get("/t/{ticket_id}")
    async def ticket(request: Request, ticket_id: str):
        from bot.console.pages import ticket_page

        login, redirect = await page(request)
        if redirect:
            return redirect
        try:
            desk = con.desk()
            view = await run_in_threadpool(desk.view, ticket_id[:32])
            names = [s.username for s in await run_in_threadpool(desk.staff.all)]
        except DeskError as e:
            return HTMLResponse(
                f"<p>{e}</p><p><a href='/console'>返回</a></p>", status_code=e.status
            )
        html = ticket_page(login.staff, login.csrf, view, names)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    # -- API ---------------------------------------------------------------------------
    @r.get("/api/tickets")
    async def api_tickets(
        request: Request,
        stage: str = Query("active", max_length=20),
        priority: int | None = Query(None, ge=0, le=9),
        q: str = Query("", max_length=100),
        page_no: int = Query(1, alias="page", ge=1, le=100_000),
        per_page: int = Query(25, ge=1, le=100),
    ):
        def run(_login, desk: Desk):
            total, tickets = desk.inbox(stage, priority, q, page_no, per_page)
            return {"total": total, "page": page_no, "tickets": [_brief(t) for t in tickets]}

        return await api(request, run, write=False)

    @r.get("/api/t/{ticket_id}")
    async def api_ticket(request: Request, ticket_id: str):
        def run(_login, desk: Desk):
            view = desk.view(ticket_id[:32])
            return {
                "ticket": _brief(view.ticket) | {"contact": view.ticket.contact},
                "messages": [m.fields() for m in view.messages],
                "events": [e.__dict__ for e in view.events],
            }

        return await api(request, run, write=False)

    @r.get("/api/t/{ticket_id}/messages")
    async def api_messages(
        request: Request,
        ticket_id: str,
        after: int = Query(0, ge=0),
        wait: float = Query(0, ge=0, le=LONG_POLL_S),
    ):
        """Messages after `after`; with `wait`, held open until one arrives (long poll)."""
        from bot.console.pages import state_line

        login = await authorize(request, write=False)  # once, not at every look
        if isinstance(login, Response):
            return login
        try:
            desk = con.desk()
            ticket, messages = await long_poll(
                request, wait, lambda: desk.messages(ticket_id[:32], after), done=lambda r: r[1]
            )
        except DeskError as e:
            return _json_error(e.status, str(e))
        return {
            "messages": [m.fields() for m in messages],
            "held_by": ticket.held_by,
            "stage": ticket.stage,
            "state": state_line(ticket),
        }

    @r.get("/api/t/{ticket_id}/draft")
    async def api_draft(request: Request, ticket_id: str):
        return await api(request, lambda _l, desk: desk.draft(ticket_id[:32]), write=False)

    def act(path: str, body_type: type[BaseModel] | None = None, admin: bool = False):
        """Register POST /api/t/{ticket_id}/<path>, its body read as `body_type`."""

        def register(fn):
            async def endpoint(request: Request, ticket_id: str):
                return await api(
                    request,
                    lambda login, desk, body=None: fn(login, desk, ticket_id[:32], body),
                    write=True,
                    admin=admin,
                    body_type=body_type,
                )

            r.add_api_route(f"/api/t/{{ticket_id}}/{path}", endpoint, methods=["POST"])
            return fn

        return register

    @act("take")
    def _take(login, desk, tid, _body):
        return _brief(desk.take(login.staff, tid))

    @act("handback")
    def _handback(login, desk, tid, _body):
        return _brief(desk.hand_back(login.staff, tid))

    @act("reply", TextBody)
    def _reply(login, desk, tid, body):
        held = desk.tickets.get(tid)
        took = held is not None and held.held_by != login.staff.username
        return {"message": desk.reply(login.staff, tid, body.text).fields(), "took": took}

    @act("note", TextBody)
    def _note(login, desk, tid, body):
        desk.note(login.staff, tid, body.text)
        return {"ok": True}

    @act("stage", StageBody)
    def _stage(login, desk, tid, body):
        return _brief(desk.set_stage(login.staff, tid, body.stage, body.reason))

    @act("assign", AssignBody, admin=True)
    def _assign(login, desk, tid, body):
        return _brief(desk.assign(login.staff, tid, body.to))

    @act("faq", FaqBody)
    def _faq(login, desk, tid, body):
        path = desk.save_answer(login.staff, tid, body.question, body.answer)
        knowledge = rt.settings.knowledge_dir.resolve()
        shown = path.resolve()
        return {
            "file": str(shown.relative_to(knowledge) if shown.is_relative_to(knowledge) else shown)
        }

    @r.post("/api/staff")
    async def api_staff(request: Request):
        def run(login, desk: Desk):
            try:
                body = StaffBody.model_validate_json(raw or b"{}")
            except ValidationError:
                raise DeskError(
                    422, "请提供 username、password 和 role(agent 或 admin)。"
                ) from None
            try:
                who = desk.staff.add(body.username, body.password, body.role)
            except InputError as e:
                raise DeskError(422, str(e)) from None
            desk.staff.log(login.staff.username, "staff_add", None, f"{who.username} ({who.role})")
            return JSONResponse(
                status_code=201, content={"username": who.username, "role": who.role}
            )

        raw = await request.body()
        return await api(request, run, write=True, admin=True)

    @r.get("/api/audit")
    async def api_audit(request: Request, limit: int = Query(200, ge=1, le=1000)):
        def run(_login, desk: Desk):
            return {"events": [e.__dict__ for e in desk.staff.events(None, limit)]}

        return await api(request, run, write=False, admin=True)

    return r


def _brief(t) -> dict:
    return {
        "ticket_id": t.ticket_id,
        "status": t.status,
        "stage": t.stage,
        "priority": t.priority,
        "priority_label": t.priority_label,
        "category": t.category,
        "summary": t.summary,
        "brand": t.brand,
        "assignee": t.assignee,
        "held_by": t.held_by,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }
