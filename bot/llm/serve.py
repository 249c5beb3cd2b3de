"""A small OpenAI-compatible HTTP endpoint over a local GGUF model (xllamacpp).

A thin FastAPI shim over `xllamacpp.Server.handle_chat_completions`, which already takes and
returns OpenAI-format dicts. llama.cpp's server queues requests into its slots and is
thread-safe, and it releases the GIL while it computes, so requests run in worker threads
without a lock of ours. (xllamacpp also opens its own listener on a random 127.0.0.1 port;
this shim is what kefu points at, on the host and port it is told.)

Run standalone: `python -m bot.llm.serve [--model PATH] [--host 127.0.0.1] [--port 8081]
[--ctx 4096] [--threads 1]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from bot.errors import ModelError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
DEFAULT_CTX = 4096
# One thread: on a 2-core machine that also runs other work, llama.cpp's decode threads wait on
# each other whenever one is descheduled. Measured here with the 0.5B model under load: one
# thread decoded 39 tok/s, two threads 1-5 tok/s (and loaded in 6 s instead of 1.2 s).
DEFAULT_THREADS = 1
DEFAULT_MAX_TOKENS = 512  # when a request names none: a runaway reply cannot hold the slot long
_END = object()


class ChatEngine(Protocol):
    """What the shim needs from xllamacpp.Server; tests pass a small fake."""

    def handle_chat_completions(
        self, request: dict[str, Any], callback: Callable[[dict], bool | None] | None = None
    ) -> dict[str, Any] | None: ...


def load_engine(
    model_path: str | Path,
    *,
    ctx: int = DEFAULT_CTX,
    threads: int = DEFAULT_THREADS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> ChatEngine:
    """Load the GGUF into an xllamacpp server (one slot, quiet logs)."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(
            f"LLM model file {path} does not exist; run `python -m bot.llm.provision` first"
        )
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = ctx
    params.n_parallel = 1  # one slot gets the whole context; a 2-core box gains nothing from more
    params.n_predict = max_tokens
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1  # llama.cpp logs every slot event otherwise
    return xlc.Server(params)


def _openai_error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "code": status}}
    )


def _engine_error(result: dict[str, Any]) -> JSONResponse:
    err = result.get("error") or {}
    status = err.get("code") if isinstance(err.get("code"), int) else 500
    return JSONResponse(status_code=status, content={"error": err})


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class _Holder:
    """The engine, set in the lifespan (routes exist before the model is loaded)."""

    def __init__(self) -> None:
        self.engine: ChatEngine | None = None
        self.load_s: float | None = None


def create_app(
    model_path: str | Path,
    *,
    ctx: int = DEFAULT_CTX,
    threads: int = DEFAULT_THREADS,
    model_name: str | None = None,
    engine: ChatEngine | None = None,
) -> FastAPI:
    """Build the ASGI app; the model loads in the lifespan unless a ready `engine` is passed."""
    path = Path(model_path)
    name = model_name or path.stem
    holder = _Holder()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if engine is not None:
            holder.engine, holder.load_s = engine, 0.0
        else:
            t0 = time.perf_counter()
            holder.engine = await asyncio.to_thread(load_engine, path, ctx=ctx, threads=threads)
            holder.load_s = time.perf_counter() - t0
        yield
        holder.engine = None

    app = FastAPI(title="kefu local LLM", lifespan=lifespan)
    app.state.holder = holder

    @app.get("/health")
    async def health():
        if holder.engine is None:
            return JSONResponse(status_code=503, content={"status": "loading"})
        return {"status": "ok", "model": name, "load_s": round(holder.load_s or 0.0, 3)}

    @app.get("/v1/models")
    async def models():
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "kefu"}],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if holder.engine is None:
            return _openai_error(503, "model is loading", "server_error")
        try:
            body = await request.json()
        except ValueError:
            return _openai_error(400, "request body is not valid JSON")
        if not isinstance(body, dict):
            return _openai_error(400, "request body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _openai_error(400, "'messages' must be a non-empty array")
        if body.get("stream"):
            return await _stream(holder.engine, body, name)
        try:
            result = await asyncio.to_thread(holder.engine.handle_chat_completions, body)
        except ValueError as exc:
            return _openai_error(400, str(exc))
        if not isinstance(result, dict):
            return _openai_error(500, "the model returned no result", "server_error")
        if "error" in result:
            return _engine_error(result)
        result["model"] = name
        return result

    return app


async def _stream(engine: ChatEngine, body: dict[str, Any], name: str):
    """Run a streaming completion in a worker thread and relay its chunks as SSE."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under us: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def on_chunk(chunk: dict) -> bool:
        put(chunk)
        return stop.is_set()  # True stops generation: the client went away

    def work() -> None:
        try:
            result = engine.handle_chat_completions(body, on_chunk)
            if isinstance(result, dict) and "error" in result:
                put(result)
        except Exception as exc:  # relayed to the client, never lost in the thread
            put(exc)
        finally:
            put(_END)

    loop.run_in_executor(None, work)
    first = await queue.get()
    # An error before any token becomes an ordinary HTTP error, which clients handle best.
    if isinstance(first, ValueError):
        return _openai_error(400, str(first))
    if isinstance(first, Exception):
        return _openai_error(500, f"{type(first).__name__}: {first}", "server_error")
    if isinstance(first, dict) and "error" in first:
        return _engine_error(first)

    async def events() -> AsyncIterator[str]:
        item = first
        try:
            while item is not _END:
                if isinstance(item, Exception):
                    yield _sse({"error": {"message": str(item), "type": "server_error"}})
                    break
                if isinstance(item, dict):
                    if "error" not in item:
                        item["model"] = name
                    yield _sse(item)
                item = await queue.get()
            yield "data: [DONE]\n\n"
        finally:
            stop.set()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def main(argv: list[str] | None = None) -> int:
    """Serve the model until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.llm.serve",
        description="Serve a GGUF model over an OpenAI-compatible HTTP API.",
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="GGUF file (default: the provisioned model)"
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--ctx", type=int, default=DEFAULT_CTX, help="context size in tokens")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--name", default=None, help="model id to report (default: file stem)")
    args = parser.parse_args(argv)
    model = args.model
    if model is None:
        from bot.llm.provision import gguf_path
        from bot.settings import Settings

        model = gguf_path(Settings().models_dir)
    if not Path(model).is_file():
        print(
            f"error: model file {model} does not exist; run `python -m bot.llm.provision`",
            file=sys.stderr,
        )
        return 2
    import uvicorn

    app = create_app(model, ctx=args.ctx, threads=args.threads, model_name=args.name)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
