"""The chain: understand → retrieve → decide → respond, as LangChain runnables."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Iterator

from langchain_core.runnables import RunnableLambda

from bot.answer.decide import Thresholds, decide
from bot.answer.disclose import Discloser
from bot.answer.extractive import Draft, ExtractiveAnswerer, citation
from bot.escalate import TICKET_ID, Escalator
from bot.guard.injection import injection_kind
from bot.guard.input import clean_question
from bot.guard.numbers import keep_supported
from bot.guard.pii import mask_pii
from bot.guard.scope import escalation_trigger
from bot.guard.sensitive import SensitiveWords
from bot.handoff import Handoff
from bot.ingest.chunker import is_row_fact, split_sentences
from bot.messages import say
from bot.pinyin import PinyinReader
from bot.profile import Profile
from bot.retrieve.answer_type import addresses, prefer_stated, prefer_whole
from bot.session import RedisSessionStore, Session, SessionStore, Turn, session_store
from bot.turn import TurnState
from bot.types import Answer, Citation, Corpus, Reason, Retrieval
from bot.understand import Reader, simplified, subject_words

_PIECES = re.compile(r"[^。!?!?\n]*(?:[。!?!?]+|\n|$)")


# Passages quoted beside the top one (Kefu._related): from the first few hits, at most two,
# FAQs only when fused retrieval scores them nearly as high as the quoted one.
RELATED_WINDOW = 4
MAX_RELATED = 2
RELATED_SCORE = 0.97
_ROW_KEY = re.compile(r"(?:^|[;;])\s*([^:;:;]{1,30})[::]")


def _row_keys(text: str) -> tuple[str, ...]:
    """A table row's column names ("产品", "项目", "收费"); () for anything else."""
    return tuple(_ROW_KEY.findall(text.strip())) if is_row_fact(text) else ()


def _top_id(state) -> str | None:
    """The chunk an answered turn was drawn from first."""
    ret = state.retrieval
    if state.answer.outcome != "answered" or ret is None or not ret.hits:
        return None
    if state.reason is Reason.FAQ and ret.faq_match is not None:
        fid = ret.faq_match.faq.id
        return next((h.chunk.id for h in ret.hits if h.chunk.faq_id == fid), ret.hits[0].chunk.id)
    return ret.hits[0].chunk.id


def _stem(name: str) -> str:
    """A file name as a person reads it: no folder, no extension."""
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if "." in name else name


def pieces(text: str) -> list[str]:
    """`text` cut after each sentence end or newline; the pieces join back to `text`."""
    return [p for p in _PIECES.findall(text) if p]


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
        sessions: SessionStore | RedisSessionStore | None = None,
        chat_log=None,
        sensitive: SensitiveWords | None = None,
        webhook=None,
        llm=None,
        reader: Reader | None = None,
        screen=None,
        conversations=None,
    ):
        self.settings = settings
        self.index_version: str | None = None  # the index version loaded (set by the factory)
        self.retriever = retriever
        self.corpus = corpus
        self.answerer = answerer or ExtractiveAnswerer()
        self.llm = llm  # LLMAnswerer when an endpoint is configured; extractive is the fallback
        self.screen = screen  # AttackScreen: injections by meaning, after the patterns
        self.tickets = tickets
        # ConversationStore: every message, for the agent console and live replies (None:
        # nothing kept, and no agent can hold a conversation).
        self.conversations = conversations
        self.sessions = sessions or session_store(settings)
        self.chat_log = chat_log
        self.sensitive = sensitive if sensitive is not None else SensitiveWords(())
        self.titles = {d.id: d.title for d in corpus.documents}
        self.profile: Profile = corpus.profile or Profile()
        # What is "ours" is what the knowledge covers: its products and its own vocabulary.
        texts = [f"{c.title} {c.heading} {c.text}" for c in retriever.chunks] + [
            " ".join((f.question, *f.paraphrases)) for f in corpus.faqs
        ]
        self.reader = reader or Reader(self.profile, subject_words(texts), texts)
        # A turn typed in pinyin is read in the knowledge's words ("baoxiu" → 保修).
        names = [w for ws in self.profile.brand_words().values() for w in ws if w.isascii()]
        self.pinyin = PinyinReader(texts, keep=names)
        self.discloser = Discloser(corpus, retriever.chunks)
        # Started and subscribed to the ticket store by the factory; kept here to stop it.
        self.webhook = webhook
        self.escalator = Escalator(tickets, self._cite_doc, self.profile)
        self.handoffs = Handoff(self.escalator, self.sessions, self.profile)
        self.front = (
            RunnableLambda(self._understand, name="understand")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._decide, name="decide")
        )
        self.chain = self.front | RunnableLambda(self._respond, name="respond")

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
        state = self._state(question, session_id, brand)
        held = self._held(state)
        if held is not None:
            return held
        state = self.chain.invoke(state)
        return self._finish(state, t0, log)

    def stream(
        self,
        question: str,
        session_id: str | None = None,
        brand: str | None = None,
        log: bool = True,
    ) -> Iterator[dict]:
        """The same turn as `ask`, as events: {"event": "delta", "text"} pieces, then one
        {"event": "final", "answer": Answer}. InputError is raised before the first event."""
        t0 = time.perf_counter()
        state = self._state(question, session_id, brand)
        held = self._held(state)
        if held is not None:
            return iter(
                [{"event": "delta", "text": held.text}] * bool(held.text)
                + [{"event": "final", "answer": held}]
            )
        return self._events(state, t0, log)

    def draft(self, question: str, brand: str | None = None) -> Answer:
        """What the bot would answer, for an agent to edit (agent assist): the whole chain on a
        fresh conversation that is not kept, opens no ticket and logs nothing."""
        state = self.front.invoke(self._state(question, None, brand, keep=False))
        ret = state.retrieval
        if state.injection or ret is None or not ret.hits:
            return Answer(outcome="refused", text="", reason=state.reason_text)
        if state.outcome != "answered":
            # Escalated, clarified or refused for the customer: the agent still wants the
            # best the knowledge has, quoted from the top passages.
            state.outcome, state.reason = "answered", Reason.RETRIEVAL
        draft = self._answer(state, state.reading.lang)
        if draft is None:  # every sentence stated a figure its sources lack
            return Answer(outcome="escalated", text="", reason=str(Reason.NUMBER_GUARD))
        return Answer(
            outcome="answered",
            text=draft.text,
            citations=[self._titled(c) for c in draft.citations],
            confidence=self._confidence(state),
            reason=state.reason_text,
        )

    def _held(self, state: TurnState) -> Answer | None:
        """While an agent holds the conversation, the bot passes the message on and stays quiet
        (one notice at the start of each stretch the customer writes in)."""
        if self.conversations is None or self.tickets is None:
            return None
        ticket = self.tickets.holder(state.session.id)
        if ticket is None:
            return None
        session = state.session
        lang = state.reading.lang
        text = "" if session.held_noticed == ticket.ticket_id else say("held", lang, self.profile)
        self.conversations.turn(session.id, state.question, text, outcome="escalated")
        if ticket.stage in ("waiting", "snoozed", "new"):
            self.tickets.update_console(ticket.ticket_id, stage="open")
        if text:
            session.held_noticed = ticket.ticket_id
            self.sessions.save(session)
        return Answer(
            outcome="escalated",
            text=text,
            confidence=1.0,
            ticket_id=ticket.ticket_id,
            reason=str(Reason.HELD),
        )

    def _events(self, state: TurnState, t0: float, log: bool) -> Iterator[dict]:
        state = self.front.invoke(state)
        shown = ""
        if self._generates(state):
            # Sentences reach the customer only once the output guard has passed them.
            for item in self.llm.stream(state.query, state.retrieval.hits, state.reading.lang):
                if isinstance(item, str):
                    piece = self._mask_out(item)
                    shown += piece
                    yield {"event": "delta", "text": piece}
                else:
                    state.generated = item
        state = self._respond(state)
        text = state.answer.text
        # The rest of the answer (a disclosure, or the whole fallback answer when generation
        # failed); the final event always carries the complete, authoritative text.
        for piece in pieces(text[len(shown) :] if text.startswith(shown) else text):
            yield {"event": "delta", "text": piece}
        yield {"event": "final", "answer": self._finish(state, t0, log)}

    def handoff(
        self,
        session_id: str,
        brand: str | None = None,
        contact: str | None = None,
        consent: bool = False,
        lang: str = "zh",
        request_key: str | None = None,
    ) -> Answer:
        """The customer pressed 转人工: the conversation's open ticket, else a new one."""
        answer = self.handoffs.press(
            session_id,
            brand=brand,
            contact=contact,
            consent=consent,
            lang=lang,
            request_key=request_key,
        )
        if self.conversations is not None and answer.ticket_id:
            # "bot", not "notice": the client shows it from this reply; notices are what
            # only reach the customer by /api/messages (an agent joined, left).
            self.conversations.append(
                session_id, "bot", answer.text, outcome="escalated", turn_id=answer.turn_id
            )
        return answer

    def ticket(self, ticket_id: str, session_id: str):
        """The ticket if it belongs to this session, else None (unknown and foreign alike)."""
        return self.handoffs.ticket(ticket_id, session_id)

    def prepare(
        self,
        question: str,
        session_id: str | None = None,
        brand: str | None = None,
        hold_out: str | None = None,
    ) -> TurnState:
        """Run understand and retrieve only: what calibration sweeps thresholds over
        (`hold_out`: an FAQ phrasing retrieval must not match, see HybridRetriever)."""
        return self._retrieve(self._understand(self._state(question, session_id, brand)), hold_out)

    def _state(
        self, question: str, session_id: str | None, brand: str | None, keep: bool = True
    ) -> TurnState:
        raw = clean_question(question, self.settings.max_question_chars)
        text = self.sensitive.mask(mask_pii(raw))
        sid = session_id or uuid.uuid4().hex
        session = self.sessions.get(sid) if keep else Session(sid)
        said = self.pinyin.to_hanzi(simplified(text))
        reading = self.reader.read(said)
        if session.lang and not self.reader.says_language(text):
            reading = dataclasses.replace(reading, lang=session.lang)  # one per conversation
        return TurnState(
            question=text,
            raw=raw,
            said=said,
            session=session,
            reading=reading,
            brand_param=brand if brand in self.profile.product_ids else None,
        )

    def _finish(self, state: TurnState, t0: float, log: bool) -> Answer:
        text, session = state.question, state.session
        answer = state.answer
        answer.turn_id = f"{session.id}:{len(session.turns) + 1}"
        answer.latency_ms = (time.perf_counter() - t0) * 1000
        session.lang = state.reading.lang
        top = _top_id(state)
        # An answer drawn from one product's knowledge makes the conversation about that
        # product ("怎么预约师傅上门" answered for the heater: "一般多久能来" is the heater's).
        brand = state.brand
        if brand is None and top is not None:
            drawn = self.retriever.by_id[top].brand
            brand = drawn if drawn in self.profile.product_ids else None
        self.sessions.record(
            session,
            Turn(text, state.query or text, answer.outcome, brand, top, answer.text),
            unresolved=state.unresolved,
        )
        if self.conversations is not None:
            self.conversations.turn(
                session.id,
                text,
                answer.text,
                citations=[c.public() for c in answer.citations],
                turn_id=answer.turn_id,
                outcome=answer.outcome,
            )
        if log and self.chat_log is not None:
            self.chat_log.write(
                {
                    "session": session.id,
                    "turn_id": answer.turn_id,
                    "question": text,
                    "outcome": answer.outcome,
                    "reason": answer.reason,
                    "confidence": round(answer.confidence, 4),
                    "citations": [c.doc_id for c in answer.citations],
                    "ticket_id": answer.ticket_id,
                    **({"injection": state.injection} if state.injection else {}),
                }
            )
        return answer

    # -- stages -------------------------------------------------------------------
    def _understand(self, s: TurnState) -> TurnState:
        r = s.reading
        sess = s.session
        s.injection = injection_kind(s.raw or s.question)
        if s.injection:
            s.settle("refused", Reason.INJECTION)
            return s
        if sess.awaiting_contact and s.raw:
            s.reply = self.escalator.take_contact(sess, s.raw, r.lang)
            if s.reply:
                s.settle("answered", Reason.CONTACT)
                return s
        ticket = TICKET_ID.search(s.question)
        if ticket and self.tickets is not None:
            s.settle("answered", Reason.TICKET_STATUS)
            s.asked_ticket = ticket.group(0).upper()
            return s
        trig = escalation_trigger(
            s.question, self.profile.safety_words, self.profile.escalation_words
        )
        if trig:
            s.settle("escalated", Reason.TRIGGER, trig)
            s.brand = s.brand_param or r.brand or sess.brand
            return s

        if r.small_talk:
            s.settle("answered", Reason.SMALL_TALK)
            s.reply = say(f"small_talk_{r.small_talk}", r.lang, self.profile)
            s.brand = s.brand_param or sess.brand
            return s

        last = sess.last()
        asked = r.text  # what the turn says (pinyin read as the knowledge's words)
        s.brand = s.brand_param or r.brand
        if (
            sess.pending_question
            and (s.brand or r.brand_hint)
            and last
            and last.outcome == "clarify"
        ):
            # A product name alone after "客服电话多少?": answer the question we asked about.
            s.query = f"{sess.pending_question} {asked}"
            s.brand = s.brand or r.brand_hint
        elif r.followup and last and last.outcome == "answered":
            s.query = self._rewrite(asked, last.query, sess)
            s.brand = s.brand or sess.brand
            if not self.reader.topics(asked) or self.reader.asks_own(asked):
                s.alone = asked  # it may ask something new: see _retrieve
        else:
            s.query = asked
            s.brand = s.brand or sess.brand or r.brand_hint
        sess.pending_question = None
        if r.lang == "en":
            s.query = self.reader.bilingual_query(s.query)
        if s.query != r.text:
            # Judge a follow-up by what it asks in context (a product name alone says nothing).
            s.reading = dataclasses.replace(
                self.reader.read(s.query), lang=r.lang, followup=r.followup
            )
        return s

    def _rewrite(self, question: str, last_query: str, session: Session) -> str:
        """A follow-up as a standalone question: by the LLM when there is one, else by
        carrying the last turn's topic (also the fallback when the LLM fails)."""
        if self.llm is not None:
            rewritten = self.llm.rewrite(question, [t.query for t in session.turns])
            if self.reader.carries_context(rewritten, question, last_query):
                return rewritten
        return self.reader.followup_query(last_query, question)

    def _retrieve(self, s: TurnState, hold_out: str | None = None) -> TurnState:
        if s.settled:
            return s
        s.retrieval = self._search(s.query, s.brand, hold_out)
        alone = s.alone
        if alone and alone != s.query:
            # "退了钱多久能到" after a question on returns reads as a follow-up, but asks
            # something of its own: when it matches the knowledge at least as well alone as
            # with the last topic carried over, it is a new question.
            own = self._search(alone, s.brand, hold_out)
            last = s.session.last()
            # ...or when the carried topic only finds again what was just answered, while
            # the question alone finds something else with confidence ("上门要收钱吗" after
            # a charging fault: not the charging FAQ a second time).
            again = (
                last is not None
                and last.top is not None
                and s.retrieval.hits
                and s.retrieval.hits[0].chunk.id == last.top
                and own.hits
                and own.hits[0].chunk.id != last.top
                and own.top_dense >= Thresholds.of(self.settings).refuse
            )
            if own.hits and (own.top_dense >= s.retrieval.top_dense or again):
                lang, followup = s.reading.lang, s.reading.followup
                s.query, s.retrieval = alone, own
                s.reading = dataclasses.replace(
                    self.reader.read(alone), lang=lang, followup=followup
                )
        return s

    def _search(self, query: str, brand: str | None, hold_out: str | None) -> Retrieval:
        """Fused retrieval for one query, with the subject checks that shape it."""

        def same_subject(hit) -> bool:
            c = hit.chunk
            return self.reader.covers(query, f"{c.title} {c.heading} {c.text}", c.brand)

        def narrow(hit) -> bool:
            c = hit.chunk
            faq = self.retriever.faqs.get(c.faq_id) if c.kind == "faq" else None
            if faq is not None:
                return self.reader.narrower(query, faq.question)
            return is_row_fact(c.text) and self.reader.narrower(query, c.text)  # a table row

        ret = self.retriever.retrieve(
            query,
            brand,
            k=self.settings.top_k,
            hold_out=hold_out,
            covers=lambda faq: (
                # What an FAQ is about is what it asks: its answer naming a part in passing
                # ("换非原装电池要7-10个工作日") does not make the repair-time FAQ a battery one.
                self.reader.covers(query, f"{faq.question} {' '.join(faq.paraphrases)}", faq.brand)
                and not self.reader.narrower(query, faq.question)
            ),
            fits=lambda faq: addresses(query, faq.answer),
            prefer=lambda hits: prefer_stated(
                query, prefer_whole(hits, narrow, same_subject), same_subject
            ),
        )
        if ret.hits and self.reader.topics(query):
            ret.covered = same_subject(ret.hits[0])
        return ret

    def _decide(self, s: TurnState) -> TurnState:
        if s.settled:
            return s
        # Before anything is drafted (or sent to an LLM): worded unlike any known attack, but
        # closer in meaning to the attacks than to anything customers ask.
        if self.screen is not None and self.screen.flags(s.retrieval.vector):
            s.injection = "screened"
            s.settle("refused", Reason.INJECTION)
            return s
        d = decide(s.reading, s.brand, s.retrieval, Thresholds.of(self.settings))
        if d.reason is Reason.OUT_OF_SCOPE and self._in_context(s):
            if s.settled:  # the conversation's subject makes it a safety matter
                return s
            d = decide(s.reading, s.brand, s.retrieval, Thresholds.of(self.settings))
        s.settle(d.outcome, d.reason)
        s.confidence = d.score
        if s.unresolved and s.session.unresolved + 1 >= self.settings.unresolved_turns_to_escalate:
            s.settle("escalated", Reason.UNRESOLVED)
        elif d.outcome == "clarify":
            s.session.pending_question = s.query
        return s

    def _in_context(self, s: TurnState) -> bool:
        """A turn that is out of scope on its own may continue the conversation: "要带什么去"
        after a repair question, "还在滴水" after a leak. Read it with the last turn's
        question; True when that reading is used (retrieval redone, or a trigger settled)."""
        last, own = s.session.last(), s.said
        if (
            last is None
            or last.outcome not in ("answered", "escalated")
            or s.query != own  # already read with the last turn
            or s.reading.off_topic
            or s.reading.other_brand
        ):
            return False
        query = self.reader.followup_query(last.query, own)
        # A hazard said in the last turn still stands ("还能继续用吗" after "电池有点鼓").
        trig = escalation_trigger(f"{last.query} {own}", self.profile.safety_words)
        if trig is not None and trig.category == "safety":
            s.settle("escalated", Reason.TRIGGER, trig)
            return True
        retrieval = self._search(query, s.brand or s.session.brand, None)
        if not retrieval.hits:
            return False
        lang = s.reading.lang
        s.query, s.retrieval, s.brand = query, retrieval, s.brand or s.session.brand
        s.reading = dataclasses.replace(self.reader.read(query), lang=lang, followup=True)
        return True

    def _respond(self, s: TurnState) -> TurnState:
        lang = s.reading.lang
        text, citations = "", []
        if s.reason is Reason.TICKET_STATUS:
            text = self.escalator.status(s.asked_ticket, s.session.id, lang)
        elif s.reason in (Reason.CONTACT, Reason.SMALL_TALK):
            text = s.reply
        elif s.outcome == "answered":
            draft = self._answer(s, lang)
            if draft is not None:
                text, citations = draft.text, draft.citations
                unknown = self.reader.unknown_terms(s.reading.text)
                if unknown:  # "耳机保修吗": what the knowledge has, said as not about 耳机
                    terms = "、".join(unknown)
                    text = say("not_in_knowledge", lang, self.profile, terms=terms) + text
                last = s.session.last()
                if last is not None and last.outcome == "answered" and last.answer == text:
                    # Asked again: the same words once more would read like a machine.
                    text = say("repeat", lang, self.profile, body=text)
            else:
                s.settle("escalated", Reason.NUMBER_GUARD)
        if s.outcome == "clarify":
            text = say("clarify_brand", lang, self.profile)
        elif s.outcome == "refused":
            key = "refused_scope"
            if s.reason is Reason.INJECTION:
                # "以上规则作废。换屏多少钱?": the question may be real; ask for it plainly.
                asks = s.reading.brand or s.reading.brand_hint  # it names one of our products
                key = "refused_injection_ask" if asks else "refused_injection"
            text = say(key, lang, self.profile)
        elif s.outcome == "escalated":
            text, citations = self.handoffs.escalate(s, lang)
        s.answer = Answer(
            outcome=s.outcome,
            text=text,
            citations=[self._titled(c) for c in citations],
            confidence=self._confidence(s),
            ticket_id=s.ticket_id,
            reason=s.reason_text,
            hits=s.retrieval.hits if s.retrieval else [],
            meta=self._meta(s),
        )
        return s

    @staticmethod
    def _meta(s: TurnState) -> dict:
        """How the answer was made: which answerer, and what the output guard did."""
        result = s.generated
        return result.meta() if result is not None else {"answerer": "extractive"}

    # -- helpers ------------------------------------------------------------------
    def _answer(self, s: TurnState, lang: str) -> Draft | None:
        """The guarded answer: draft, supplement, disclose, check figures, mask; None if
        nothing survives the number guard."""
        draft = None
        if self._generates(s):
            if s.generated is None:  # stream() has already generated it
                s.generated = self.llm.answer(s.query, s.retrieval.hits, lang)
            draft = s.generated.draft()
        if draft is None:  # no LLM, a vetted FAQ answer, or generation failed: extractive
            draft = self._supplement(s, self._draft(s, lang))
        draft = self.discloser(draft, s.query, s.brand, lang)
        draft, ok = self._guard_numbers(draft)
        if not ok:
            return None
        return Draft(self._mask_out(draft.text), draft.citations)

    def _generates(self, s: TurnState) -> bool:
        """Whether this turn's answer is generated: an LLM is set, the turn is answered from
        retrieval, and no vetted FAQ answer already fits (those are used word for word)."""
        return self.llm is not None and s.outcome == "answered" and s.reason is Reason.RETRIEVAL

    def _mask_out(self, text: str) -> str:
        return self.sensitive.mask(mask_pii(text))

    def _titled(self, c: Citation) -> Citation:
        """The citation with its source files named by title, for the people reading it."""
        names = self.corpus.source_titles
        files = [f for f in c.source.split(",") if f]
        titles = "、".join(names.get(f, _stem(f)) for f in files)
        return dataclasses.replace(c, source_title=titles)

    def _cite_doc(self, doc_id: str, needle: str):
        chunk = self.discloser.chunk_in(doc_id, needle)
        return citation(chunk) if chunk is not None else None

    def _draft(self, s: TurnState, lang: str) -> Draft:
        ret = s.retrieval
        if s.reason is Reason.FAQ:
            faq = ret.faq_match.faq
            chunk = next((h.chunk for h in ret.hits if h.chunk.faq_id == faq.id), None)
            return self.answerer.from_faq(faq, chunk, self.titles.get(faq.doc, faq.doc), lang)
        return self.answerer.from_hits(s.query, ret.hits, lang)

    def _supplement(self, s: TurnState, draft: Draft) -> Draft:
        """A vetted FAQ answer may miss the detail asked about: add the best policy sentence,
        and the short passages retrieved as close as the one quoted."""
        draft = self.answerer.supplement(s.query, draft, s.retrieval.hits, s.reading.lang)
        return self.answerer.add_related(draft, self._related(s), s.reading.lang)

    def _related(self, s: TurnState) -> list:
        """Short passages that belong with the quoted one: among the next few hits, table rows
        of the same table (same columns) and FAQ answers scoring about as high, about the
        question's subject and not about a part it does not name."""
        hits = s.retrieval.hits
        if s.reason is Reason.FAQ:
            fid = s.retrieval.faq_match.faq.id
            top = next((h for h in hits if h.chunk.faq_id == fid), None)
        else:
            top = hits[0] if hits else None
        if top is None:
            return []
        query = s.query
        keys = _row_keys(top.chunk.text)
        out = []
        for h in hits[:RELATED_WINDOW]:
            c = h.chunk
            if h is top or len(out) >= MAX_RELATED:
                continue
            if keys and _row_keys(c.text) == keys and c.doc_id == top.chunk.doc_id:
                pass  # another row of the same table
            elif top.chunk.kind == c.kind == "faq" and h.score >= RELATED_SCORE * top.score:
                pass  # an FAQ retrieved as strongly as the one quoted
            else:
                continue
            faq = self.retriever.faqs.get(c.faq_id)
            if self.reader.narrower(query, faq.question if faq else c.text):
                continue
            if not self.reader.covers(query, f"{c.title} {c.heading} {c.text}", c.brand):
                continue
            out.append(c)
        return out

    @staticmethod
    def _guard_numbers(draft: Draft) -> tuple[Draft, bool]:
        """Drop sentences with figures absent from the cited text; fail if nothing is left."""
        haystack = [f"{c.title}\n{c.text}" for c in draft.citations]
        if keep_supported([draft.text], haystack):
            return draft, True
        kept = keep_supported(split_sentences(draft.text), haystack)
        return Draft("".join(kept), draft.citations), bool(kept)

    def _confidence(self, s: TurnState) -> float:
        if s.reason is not None and s.reason.by_rule:
            return 1.0  # decided by a rule, not by a score
        # 0.5 sits on the answer/escalate boundary; 1.0 is a perfect match.
        lo = self.settings.refuse_threshold
        return float(min(1.0, max(0.0, 0.5 + 0.5 * (s.confidence - lo) / max(1.0 - lo, 1e-6))))
