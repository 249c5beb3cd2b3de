"""One way to open a SQLAlchemy engine for kefu's own tables (conversations, the console).

SQLite gets WAL and a busy timeout, so the web workers, the CLI and the console can write
to one file at once; any other URL (PostgreSQL) is used as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

T = TypeVar("T")


def open_engine(url: str | Engine) -> Engine:
    """An engine for `url`; an Engine is shared as it is (the tickets' own, say)."""
    if isinstance(url, Engine):
        return url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # what was acknowledged survives a crash
            cur.close()

    return engine


def create_tables(engine: Engine, metadata: MetaData) -> None:
    """create_all, tolerating another process creating the same tables at the same moment."""
    retry(lambda: metadata.create_all(engine), attempts=6)


def retry(fn: Callable[[], T], attempts: int = 4) -> T:
    """Run `fn` again after a lock timeout or a lost DDL race (another process did it)."""
    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
