"""Throw-away real servers for tests: Redis, PostgreSQL and the Chroma server.

Each listens on a free loopback port, keeps its files in a temp dir and is stopped by the
fixture that started it. `make test` installs the binaries (Debian's redis-server and
postgresql, chromadb's own `chroma` CLI) and sets KEFU_REQUIRE_SERVERS=1, so there a missing
binary fails the test instead of skipping it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} after {timeout:.0f} s")


def missing(what: str) -> None:
    """Skip, or fail under `make test`, which installs every server the tests use."""
    if os.environ.get("KEFU_REQUIRE_SERVERS"):
        pytest.fail(f"{what} is not installed (make services installs it)")
    pytest.skip(f"{what} is not installed (make services installs it)")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# -- Redis ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    """A redis-server with no persistence; yields its base URL (redis://127.0.0.1:PORT)."""
    exe = shutil.which("redis-server")
    if exe is None:
        missing("redis-server")
    port, work = free_port(), tmp_path_factory.mktemp("redis")
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*args, "--dir", str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def redis_url(redis_server) -> Iterator[str]:
    """A database of the session's server emptied for this test (db 1; db 0 is left alone)."""
    import redis

    url = f"{redis_server}/1"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


# -- PostgreSQL ----------------------------------------------------------------------------
def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_postgres_user() -> Callable[[list[str]], list[str]]:
    """initdb and postgres refuse to run as root: run them as the `postgres` system user."""
    if os.geteuid() != 0:
        return lambda cmd: cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        missing("the postgres system user (Debian's postgresql package creates it)")
    return lambda cmd: ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[str]:
    """A PostgreSQL cluster made with initdb in a temp dir; yields a URL prefix
    (postgresql+psycopg://kefu@127.0.0.1:PORT/) to which a database name is added."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        missing("PostgreSQL (initdb, pg_ctl)")
    run_as = _as_postgres_user()
    root = tmp_path_factory.mktemp("postgres")
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        for p in (root, sockets):
            shutil.chown(p, "postgres", "postgres")
        for parent in root.parents:  # the server must reach its data dir
            if parent.stat().st_mode & 0o001 == 0 and str(parent).startswith("/tmp/"):
                os.chmod(parent, parent.stat().st_mode | 0o711)
    subprocess.run(
        run_as([initdb, "-D", str(data), "-U", "kefu", "--auth=trust", "-E", "UTF8"]),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(run_as(start), check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql+psycopg://kefu@127.0.0.1:{port}/"
    finally:
        subprocess.run(
            run_as([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the session's cluster, dropped after the test."""
    from sqlalchemy import create_engine, text

    name = f"kefu_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_server + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- Chroma server -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """`chroma run` (chromadb's own server) on a free loopback port; yields (host, port)."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        missing("the chroma CLI (part of the chromadb package)")
    port, work = free_port(), tmp_path_factory.mktemp("chroma_server")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(work), "--host", "127.0.0.1", "--port", str(port)],
        stdout=(work / "log").open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_for_port(port, proc)
        yield "127.0.0.1", port
    finally:
        stop(proc)
