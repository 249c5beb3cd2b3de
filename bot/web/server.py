"""The FastAPI app: bot loaded once in the lifespan, JSON API under /api, Gradio chat at /."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.errors import IndexMissingError, InputError, KefuError


class ChatRequest(BaseModel):
    question: str = Field(..., description="the customer's question")
    session_id: str | None = Field(None, max_length=200)
    brand: str | None = Field(None, pattern="^(oppo|aupu)$")


class BotHolder:
    """Late-bound reference: routes and the UI exist before the lifespan loads the bot."""

    def __init__(self):
        self.bot = None
        self.error: str | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def create_app(settings=None, bot=None) -> FastAPI:
    """Build the ASGI app; pass a ready bot in tests, or let the lifespan build one from settings."""
    holder = BotHolder()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if bot is not None:
            holder.bot = bot
        else:
            from bot.factory import build_bot
            from bot.settings import Settings

            try:
                holder.bot = await asyncio.to_thread(build_bot, settings or Settings())
            except KefuError as e:
                holder.error = str(e)  # served as 503 with the reason, instead of a crash loop
        yield

    app = FastAPI(title="kefu 售后助手 API", lifespan=lifespan)
    app.state.holder = holder

    @app.get("/healthz")
    async def healthz():
        if holder.bot is None:
            return _error(503, holder.error or "模型和索引正在加载,请稍后再试。")
        return {"status": "ok", "chunks": len(holder.bot.retriever.chunks)}

    @app.post("/api/chat")
    async def chat(req: ChatRequest, request: Request):
        if holder.bot is None:
            return _error(503, holder.error or "服务正在启动,请稍后再试。")
        session_id = req.session_id or uuid.uuid4().hex
        try:
            answer = await asyncio.to_thread(holder.bot.ask, req.question, session_id, req.brand)
        except InputError as e:
            return _error(413 if "过长" in str(e) else 400, str(e))
        except IndexMissingError as e:
            return _error(503, str(e))
        return {**answer.public(), "session_id": session_id}

    import gradio as gr

    from bot.web.ui import build_ui

    return gr.mount_gradio_app(app, build_ui(holder), path="/")
