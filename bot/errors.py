"""The error hierarchy. Edges (CLI, HTTP, UI) turn these into user messages."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class KefuError(Exception):
    """Base class for every error kefu raises on purpose."""


class ConfigError(KefuError):
    """A setting is missing or invalid."""


class CorpusError(KefuError):
    """knowledge/ holds a malformed file; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in knowledge/:\n" + "\n".join(problems))


class IndexMissingError(KefuError):
    """The index has not been built, or was built from other knowledge or another model."""


class ModelError(KefuError):
    """The embedding model could not be provisioned or loaded."""


class InputError(KefuError):
    """A question or batch file the bot cannot accept (empty, too long, binary junk)."""


class TooLongError(InputError):
    """A question over the length limit (HTTP 413)."""


class SharedStateError(KefuError):
    """The shared state server (Redis) cannot be reached: a 503, never a lost turn."""


@contextlib.contextmanager
def shared_state(what: str) -> Iterator[None]:
    """Redis connection and timeout errors inside as SharedStateError naming `what`.

    Redis is only imported where it is configured: if it never was, no error can be its."""
    try:
        yield
    except Exception as e:
        redis = sys.modules.get("redis")
        if redis is not None and isinstance(e, (redis.ConnectionError, redis.TimeoutError)):
            raise SharedStateError(f"Redis unreachable for {what}: {e}") from e
        raise
