"""The LLM answerer: writes a reply from the numbered context, then the output guard checks it.

Any OpenAI-compatible endpoint works (`settings.llm_base_url`), the local `bot.llm.serve`
included. A failed call never raises: it comes back as `LLMResult.error`, so the chain can
fall back to the extractive answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.answer.context import Packed, pack_context
from bot.answer.extractive import Draft
from bot.answer.prompts import rewrite_prompt, system_prompt, user_prompt
from bot.guard.output import Guarded, SentenceGate, content_units

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

REWRITE_HISTORY = 4  # recent turns a rewrite sees
REWRITE_SLACK_CHARS = 20


@dataclass
class LLMResult:
    """One generated answer: the guarded text, what it was built from, and how it went."""

    guarded: Guarded | None  # what passed the guard (also on error: what streamed before it)
    packed: Packed
    raw: str  # the model's reply as it came
    # "timeout" | "connection" | "http <status>" | "empty" | "no context" | "guard: …" | "<Type>: …"
    error: str | None
    latency_ms: float
    first_token_ms: float | None

    @property
    def ok(self) -> bool:
        """Usable as the answer: no error and some guarded text."""
        return self.error is None and self.guarded is not None and bool(self.guarded.text)

    def draft(self) -> Draft | None:
        """The guarded answer as a chain `Draft`, or None when the chain should fall back."""
        if self.fallback_reason() is not None:
            return None
        return Draft(self.guarded.text, list(self.guarded.citations))

    def fallback_reason(self) -> str | None:
        """Why this reply is not used (None: use it). Retrieval already judged the question
        answerable, so a reply that cites nothing or says the context lacks the answer loses
        to the extractive answer."""
        if not self.ok:
            return self.error or "empty"
        if self.guarded.says_unknown:
            return "said it does not know"
        if not self.guarded.citations:
            return "cites nothing"
        return None

    def meta(self) -> dict:
        """How the reply went, for `Answer.meta`, the chat log and the eval report."""
        g = self.guarded
        fallback = self.fallback_reason()
        return {
            "answerer": "extractive" if fallback else "llm",
            "llm_fallback": fallback,
            "llm_dropped_sentences": g.dropped_sentences if g else 0,
            "llm_violations": g.violations if g else [],
            "llm_dropped_chunks": list(self.packed.dropped),
            "llm_latency_ms": round(self.latency_ms, 1),
            "llm_first_token_ms": self.first_token_ms and round(self.first_token_ms, 1),
        }


def classify_error(exc: BaseException) -> str:
    """A short, stable name for why a model call failed."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        openai = None
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            return "timeout"  # a subclass of APIConnectionError: test it first
        if isinstance(exc, openai.APIConnectionError):
            return "connection"
        if isinstance(exc, openai.APIStatusError):
            return f"http {exc.status_code}"
    try:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.TransportError):
            return "connection"
    except ImportError:  # pragma: no cover - httpx is a dependency
        pass
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection"
    return f"{type(exc).__name__}: {exc}"[:200]


def mask(text: str) -> str:
    """Mask personal data before it leaves for the model (a no-op where the PII guard is absent)."""
    try:
        from bot.guard.pii import mask_pii
    except ImportError:
        return text
    return mask_pii(text)


def _text(content: Any) -> str:
    # Message content is a string, or a list of parts for multimodal models.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return str(content or "")


class LLMAnswerer:
    """Answers from retrieved chunks with an LLM; every sentence passes the output guard."""

    def __init__(self, settings, chat_model: BaseChatModel | None = None, profile=None):
        self.settings = settings
        self._chat_model = chat_model
        self.profile = profile  # whose assistant the system prompt says it is

    @property
    def chat_model(self) -> BaseChatModel:
        """The injected model, or a ChatOpenAI for `settings.llm_base_url`, built on first use."""
        if self._chat_model is None:
            from langchain_openai import ChatOpenAI

            s = self.settings
            key = s.llm_api_key.get_secret_value() if s.llm_api_key else "not-needed"
            self._chat_model = ChatOpenAI(
                base_url=s.llm_base_url,
                model=s.llm_model,
                api_key=key,
                temperature=s.llm_temperature,
                timeout=s.llm_timeout_s,
                max_tokens=s.llm_max_tokens,
                max_retries=0,  # the chain falls back at once rather than make a customer wait
            )
        return self._chat_model

    def pack(self, hits: list) -> Packed:
        """The numbered context for `hits` under the settings' token budget."""
        return pack_context(hits, self.settings.llm_context_tokens, self.settings.tiktoken_encoding)

    def messages(self, query: str, packed: Packed, lang: str) -> list[BaseMessage]:
        """What is sent to the model: system rules, then context and the masked question."""
        return self._messages(mask(query), packed, lang)

    def _messages(self, masked: str, packed: Packed, lang: str) -> list[BaseMessage]:
        from langchain_core.messages import HumanMessage, SystemMessage

        return [
            SystemMessage(system_prompt(self.settings.llm_system_prompt_extra, self.profile)),
            HumanMessage(user_prompt(masked, packed.text, lang)),
        ]

    def answer(self, query: str, hits: list, lang: str) -> LLMResult:
        """Generate and guard a whole reply."""
        result = None
        for item in self.stream(query, hits, lang):
            if isinstance(item, LLMResult):
                result = item
        assert result is not None  # stream() always ends with its result
        return result

    def stream(self, query: str, hits: list, lang: str) -> Iterator[str | LLMResult]:
        """Yield guarded sentences as they pass, then the `LLMResult` (always last)."""
        t0 = time.perf_counter()
        packed = self.pack(hits)
        if not packed.chunks:
            yield LLMResult(None, packed, "", "no context", 0.0, None)
            return
        question = mask(query)
        gate = SentenceGate(packed, question)
        parts: list[str] = []
        first_ms: float | None = None
        error: str | None = None
        chunks = None
        # The client's timeout applies to each read; this one bounds the whole reply.
        deadline = t0 + self.settings.llm_timeout_s
        while True:
            # Only the model call is guarded here: a fault of the gate is a bug, and raises.
            try:
                if chunks is None:
                    chunks = iter(self.chat_model.stream(self._messages(question, packed, lang)))
                chunk = next(chunks)
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"no complete reply in {self.settings.llm_timeout_s} s")
            except StopIteration:
                break
            except Exception as exc:  # any failure of the call is reported, never raised
                error = classify_error(exc)
                log.warning("LLM call failed: %s", error)
                if chunks is not None and hasattr(chunks, "close"):
                    chunks.close()  # stop generating: nobody will read the rest
                break
            delta = _text(chunk.content)
            if not delta:
                continue
            if first_ms is None:
                first_ms = (time.perf_counter() - t0) * 1000
            parts.append(delta)
            yield from gate.feed(delta)
        raw = "".join(parts)
        if error is None:
            yield from gate.flush()
        guarded = gate.result() if raw else None
        if error is None:
            if not raw.strip():
                error = "empty"
            elif not guarded.text:
                why = "; ".join(guarded.violations[:3]) or "no text besides marks"
                error = f"guard: no sentence passed ({why})"
        yield LLMResult(
            guarded=guarded,
            packed=packed,
            raw=raw,
            error=error,
            latency_ms=(time.perf_counter() - t0) * 1000,
            first_token_ms=first_ms,
        )

    def rewrite(self, question: str, history: list[str]) -> str:
        """One standalone question from a follow-up and recent turns; the original on any failure."""
        recent = [h for h in history if h and h.strip()][-REWRITE_HISTORY:]
        if not recent:
            return question
        from langchain_core.messages import HumanMessage, SystemMessage

        system, user = rewrite_prompt(mask(question), [mask(h) for h in recent])
        try:
            reply = self.chat_model.invoke(
                [SystemMessage(system), HumanMessage(user)], stop=["\n\n"]
            )
        except Exception as exc:  # a failed rewrite only costs context, never the turn
            log.warning("LLM rewrite failed: %s", classify_error(exc))
            return question
        text = _clean_rewrite(_text(reply.content))
        limit = min(
            self.settings.max_question_chars,
            len(question) + sum(len(h) for h in recent) + REWRITE_SLACK_CHARS,
        )
        if not text or len(text) > limit:
            return question
        # A rewrite that keeps nothing of the follow-up ("那另一款呢?" → an earlier question
        # verbatim) has lost what was asked; the original at least keeps that.
        asked = content_units(question)
        if asked and not asked & content_units(text):
            return question
        return text


def _clean_rewrite(reply: str) -> str:
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    text = lines[0]
    for prefix in ("改写后的问题:", "改写后的问题:", "问题:", "问题:", "Question:"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    return text.strip("\"'“”「」 ")
