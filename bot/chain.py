"""The chain: understand → retrieve → decide → respond, as LangChain runnables."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from dataclasses import dataclass, field

from langchain_core.runnables import RunnableLambda

from bot.answer.decide import Thresholds, decide
from bot.answer.extractive import Draft, ExtractiveAnswerer, citation
from bot.guard.input import clean_question
from bot.guard.numbers import normalize, number_tokens, unsupported_numbers
from bot.guard.scope import Trigger, escalation_trigger, is_injection
from bot.ingest.chunker import split_sentences
from bot.messages import say
from bot.session import Session, SessionStore, Turn
from bot.types import Answer, Citation, Corpus, Retrieval
from bot.understand import Reading, read

_RULE_REASONS = frozenset({"injection", "brand_unknown", "other_brand", "ticket_status"})
_TICKET_ID = re.compile(r"KF-[A-Z2-9]{6}", re.I)
_CITE_MARK = re.compile(r"\[\d+\]")
# The answer already says the value is missing: adding the missing-value note would repeat it.
_SAYS_MISSING = re.compile(
    r"没有给出|没有提供|未给出|未提供|未公布|没有写明|资料(里|中)?没有|暂无|not given|don't have"
)


def _states(text: str, value: str, keyword_hit: bool) -> bool:
    """Whether an answer states `value`: verbatim, or (on topic) with all of its figures."""
    if normalize(value) in normalize(text):
        return True
    figures = number_tokens(value)
    return keyword_hit and bool(figures) and all(f in number_tokens(text) for f in figures)


@dataclass
class TurnState:
    """Everything one turn accumulates as it passes the stages."""

    question: str
    session: Session
    reading: Reading
    brand_param: str | None = None
    query: str = ""
    brand: str | None = None
    retrieval: Retrieval | None = None
    outcome: str | None = None
    reason: str = ""
    trigger: Trigger | None = None
    draft: Draft | None = None
    confidence: float = 0.0
    answer: Answer | None = None
    extra: dict = field(default_factory=dict)


class Kefu:
    """The bot: one instance per process, shared by CLI, web and eval."""

    def __init__(
        self,
        settings,
        retriever,
        corpus: Corpus,
        *,
        answerer=None,
        tickets=None,
        sessions: SessionStore | None = None,
        chat_log=None,
    ):
        self.settings = settings
        self.retriever = retriever
        self.corpus = corpus
        self.answerer = answerer or ExtractiveAnswerer()
        self.tickets = tickets
        self.sessions = sessions or SessionStore(settings.session_history)
        self.chat_log = chat_log
        self.titles = {d.id: d.title for d in corpus.documents}
        self.chain = (
            RunnableLambda(self._understand, name="understand")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._decide, name="decide")
            | RunnableLambda(self._respond, name="respond")
        )

    # -- public -----------------------------------------------------------------
    def ask(
        self,
        question: str,
        session_id: str | None = None,
        brand: str | None = None,
        log: bool = True,
    ) -> Answer:
        """Answer one turn. Raises InputError for input the bot cannot accept."""
        t0 = time.perf_counter()
        state = self.chain.invoke(self._state(question, session_id, brand))
        text, session = state.question, state.session
        answer = state.answer
        answer.latency_ms = (time.perf_counter() - t0) * 1000
        self.sessions.record(session, Turn(text, state.query or text, answer.outcome, state.brand))
        if log and self.chat_log is not None:
            self.chat_log.write(
                {
                    "session": session.id,
                    "question": text,
                    "outcome": answer.outcome,
                    "reason": answer.reason,
                    "confidence": round(answer.confidence, 4),
                    "citations": [c.doc_id for c in answer.citations],
                    "ticket_id": answer.ticket_id,
                }
            )
        return answer

    def prepare(
        self, question: str, session_id: str | None = None, brand: str | None = None
    ) -> TurnState:
        """Run understand and retrieve only: what calibration sweeps thresholds over."""
        return self._retrieve(self._understand(self._state(question, session_id, brand)))

    def _state(self, question: str, session_id: str | None, brand: str | None) -> TurnState:
        text = clean_question(question, self.settings.max_question_chars)
        return TurnState(
            question=text,
            session=self.sessions.get(session_id or uuid.uuid4().hex),
            reading=read(text),
            brand_param=brand if brand in ("oppo", "aupu") else None,
        )

    # -- stages -------------------------------------------------------------------
    def _understand(self, s: TurnState) -> TurnState:
        r = s.reading
        sess = s.session
        if is_injection(s.question):
            s.outcome, s.reason = "refused", "injection"
            return s
        ticket = _TICKET_ID.search(s.question)
        if ticket and self.tickets is not None:
            s.outcome, s.reason = "answered", "ticket_status"
            s.extra["ticket_id"] = ticket.group(0).upper()
            return s
        trig = escalation_trigger(s.question)
        if trig:
            s.outcome, s.reason, s.trigger = "escalated", f"trigger:{trig.category}", trig
            return s

        last = sess.last()
        s.brand = s.brand_param or r.brand
        if (
            sess.pending_question
            and (s.brand or r.brand_hint)
            and last
            and last.outcome == "clarify"
        ):
            # "奥普的" after "客服电话多少?": answer the question we asked about.
            s.query = f"{sess.pending_question} {s.question}"
            s.brand = s.brand or r.brand_hint
        elif r.followup and last and last.outcome == "answered":
            s.query = f"{last.query} {s.question}"
            s.brand = s.brand or sess.brand
        else:
            s.query = s.question
            s.brand = s.brand or sess.brand or r.brand_hint
        sess.pending_question = None
        if s.query != s.question:
            # Judge a follow-up by what it asks in context ("奥普的" alone says nothing).
            s.reading = dataclasses.replace(read(s.query), lang=r.lang, followup=r.followup)
        return s

    def _retrieve(self, s: TurnState) -> TurnState:
        if s.outcome is None:
            s.retrieval = self.retriever.retrieve(s.query, s.brand, k=self.settings.top_k)
        return s

    def _decide(self, s: TurnState) -> TurnState:
        if s.outcome is not None:
            return s
        d = decide(s.reading, s.brand, s.retrieval, Thresholds.of(self.settings))
        s.outcome, s.reason, s.confidence = d.outcome, d.reason, d.score
        if d.outcome == "clarify":
            s.session.pending_question = s.query
        return s

    def _respond(self, s: TurnState) -> TurnState:
        lang = s.reading.lang
        text, citations = "", []
        if s.outcome == "answered" and s.reason == "ticket_status":
            text = self._ticket_status(s.extra["ticket_id"], s.session.id, lang)
        elif s.outcome == "answered":
            draft = self._supplement(s, self._draft(s, lang))
            draft = self._disclose(s, draft, lang)
            draft, ok = self._guard_numbers(draft)
            if ok:
                text, citations = draft.text, draft.citations
            else:
                s.outcome, s.reason = "escalated", "number_guard"
        if s.outcome == "clarify":
            text = say("clarify_brand", lang)
        elif s.outcome == "refused":
            text = say("refused_injection" if s.reason == "injection" else "refused_scope", lang)
        elif s.outcome == "escalated":
            key = "escalated" if s.reason.startswith("trigger") else "escalated_low_confidence"
            text = say(key, lang)
            ticket_id = self._open_ticket(s)
            if ticket_id:
                text += say("ticket", lang, ticket_id=ticket_id)
            s.extra["ticket"] = ticket_id
        s.answer = Answer(
            outcome=s.outcome,
            text=text,
            citations=citations,
            confidence=self._confidence(s),
            ticket_id=s.extra.get("ticket"),
            reason=s.reason,
            hits=s.retrieval.hits if s.retrieval else [],
        )
        return s

    # -- helpers ------------------------------------------------------------------
    def _draft(self, s: TurnState, lang: str) -> Draft:
        ret = s.retrieval
        if s.reason == "faq":
            faq = ret.faq_match.faq
            chunk = next((h.chunk for h in ret.hits if h.chunk.faq_id == faq.id), None)
            return self.answerer.from_faq(faq, chunk, self.titles.get(faq.doc, faq.doc), lang)
        return self.answerer.from_hits(s.query, ret.hits, lang)

    def _supplement(self, s: TurnState, draft: Draft) -> Draft:
        """A vetted FAQ answer may miss the detail asked about: add the best policy sentence."""
        return self.answerer.supplement(s.query, draft, s.retrieval.hits, s.reading.lang)

    def _chunk_in(self, doc_id: str, needle: str = ""):
        chunks = [c for c in self.retriever.chunks if c.doc_id == doc_id and c.kind == "doc"]
        n = normalize(needle)
        return next(
            (c for c in chunks if n and n in normalize(c.text)), chunks[0] if chunks else None
        )

    def _disclose(self, s: TurnState, draft: Draft, lang: str) -> Draft:
        """Where sources disagree, show every value with its citation; where none exists, say so."""
        cited = {c.doc_id for c in draft.citations}
        text, cites = draft.text, list(draft.citations)
        q = s.query.lower()
        for c in self.corpus.conflicts:
            if s.brand is not None and c.brand not in (s.brand, "general"):
                continue
            keyword_hit = any(k.lower() in q for k in c.keywords)
            if c.kind == "conflict":
                text = self._disclose_conflict(c, text, cites, cited, keyword_hit, lang)
            elif (
                c.docs & cited
                and keyword_hit
                and c.note not in text
                and not _SAYS_MISSING.search(text)
            ):
                chunk = self._chunk_in(c.doc)
                if chunk and citation(chunk) not in cites:
                    cites.append(citation(chunk))
                text += "\n" + say("missing", lang, note=c.note, how_to_find=c.how_to_find)
        return Draft(text, cites)

    def _disclose_conflict(
        self, c, text: str, cites: list[Citation], cited: set[str], keyword_hit: bool, lang: str
    ) -> str:
        """Cite every value of a conflict the answer touches (appending to `cites`); add the
        disclosure unless the answer already gives them all."""
        verbatim = [normalize(v.value) in normalize(text) for v in c.values]
        if not (c.docs & cited or any(verbatim)):
            return text
        if not any(_states(text, v.value, keyword_hit) for v in c.values):
            return text  # the answer does not touch the disputed value: nothing to disclose
        marks = []
        for v in c.values:
            cite = self._value_citation(v)
            if cite not in cites:
                cites.append(cite)
            marks.append(say("conflict_value", lang, value=v.value, n=str(cites.index(cite) + 1)))
        if all(verbatim):
            return text  # a vetted FAQ, say, already gives every value: cite, don't repeat
        values = say("conflict_first", lang) + say("conflict_sep", lang).join(marks)
        return (
            text + "\n" + say("conflict", lang, subject=c.subject, values=values, advice=c.advice)
        )

    def _value_citation(self, v) -> Citation:
        """The chunk holding a disputed value, attributed to the seed that states it."""
        chunk = self._chunk_in(v.doc, v.value)
        if chunk is None:
            return Citation(v.doc, self.titles.get(v.doc, v.doc), v.source)
        holds = normalize(v.value) in normalize(chunk.text)
        return Citation(
            chunk.doc_id, chunk.title, v.source if holds else ",".join(chunk.source), chunk.text
        )

    def _guard_numbers(self, draft: Draft) -> tuple[Draft, bool]:
        """Drop sentences with figures absent from the cited text; fail if nothing is left."""
        haystack = [f"{c.title}\n{c.text}" for c in draft.citations]
        if not unsupported_numbers(_CITE_MARK.sub("", draft.text), haystack):
            return draft, True
        kept = [
            x
            for x in split_sentences(draft.text)
            if not unsupported_numbers(_CITE_MARK.sub("", x), haystack)
        ]
        if not kept:
            return draft, False
        return Draft("".join(kept), draft.citations), True

    def _confidence(self, s: TurnState) -> float:
        if s.reason in _RULE_REASONS or s.reason.startswith("trigger"):
            return 1.0  # decided by a rule, not by a score
        # 0.5 sits on the answer/escalate boundary; 1.0 is a perfect match.
        lo = self.settings.refuse_threshold
        return float(min(1.0, max(0.0, 0.5 + 0.5 * (s.confidence - lo) / max(1.0 - lo, 1e-6))))

    def _open_ticket(self, s: TurnState) -> str | None:
        if self.tickets is None:
            return None
        trig = s.trigger
        transcript = [{"q": t.question, "outcome": t.outcome} for t in s.session.turns]
        transcript.append({"q": s.question, "outcome": "escalated"})
        ticket = self.tickets.create(
            key=f"{s.session.id}:{len(s.session.turns)}",
            session_id=s.session.id,
            category=trig.category if trig else s.reason,
            priority=trig.priority if trig else 4,
            summary=s.question[:200],
            transcript=transcript,
        )
        return ticket.ticket_id

    def _ticket_status(self, ticket_id: str, session_id: str, lang: str) -> str:
        t = self.tickets.get(ticket_id, session_id=session_id)
        if t is None:
            return (
                f"No ticket {ticket_id} was found in this conversation."
                if lang == "en"
                else f"没有在当前会话中找到工单 {ticket_id}。"
            )
        status = {"open": "处理中", "closed": "已关闭"}.get(t.status, t.status)
        return (
            f"Ticket {t.ticket_id}: {t.status}."
            if lang == "en"
            else f"工单 {t.ticket_id} 当前状态:{status}。"
        )
