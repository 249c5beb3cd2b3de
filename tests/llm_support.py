"""A real local LLM for tests: the provisioned GGUF behind `bot.llm.serve` on a free
loopback port, in a thread. Skipped without the model unless KEFU_REQUIRE_LLM=1."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from bot.llm.provision import gguf_path
from bot.llm.serve import DEFAULT_THREADS
from tests.conftest import MODEL_CACHE

GGUF = gguf_path(MODEL_CACHE)
CTX = 2048
# bot.llm.serve's default (one thread; see DEFAULT_THREADS there); KEFU_LLM_THREADS overrides.
THREADS = int(os.environ.get("KEFU_LLM_THREADS", DEFAULT_THREADS))


def _require_model() -> None:
    if GGUF.is_file():
        return
    message = f"no GGUF at {GGUF}; run `python -m bot.llm.provision`"
    if os.environ.get("KEFU_REQUIRE_LLM"):
        pytest.fail(f"KEFU_REQUIRE_LLM is set but there is {message}")
    pytest.skip(f"{message} (or set KEFU_REQUIRE_LLM=1 to make this a failure)")


class BackgroundServer:
    """uvicorn serving an app on a free 127.0.0.1 port, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the LLM server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
