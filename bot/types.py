"""Typed objects passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

# Knowledge that is about no single product carries this brand; products come from the profile.
GENERAL = "general"
Outcome = Literal["answered", "clarify", "refused", "escalated"]


class Reason(StrEnum):
    """Why a turn ended as it did. Equal to its string value, which the API and logs show."""

    FAQ = "faq"  # a vetted FAQ answer fits the question
    RETRIEVAL = "retrieval"  # quoted from the best-supported passages
    OUT_OF_SCOPE = "out_of_scope"
    OTHER_BRAND = "other_brand"
    BRAND_UNKNOWN = "brand_unknown"  # which product: asked back
    LOW_CONFIDENCE = "low_confidence"
    NUMBER_GUARD = "number_guard"  # every sentence stated a figure its sources lack
    INJECTION = "injection"
    TICKET_STATUS = "ticket_status"
    CONTACT = "contact"  # the customer's consented contact for their ticket
    SMALL_TALK = "small_talk"  # a greeting, thanks or goodbye: a friendly line, nothing else
    UNRESOLVED = "unresolved"  # too many turns in a row left unsettled
    TRIGGER = "trigger"  # a safety, complaint or billing rule fired (see Trigger)
    HANDOFF = "handoff"  # the customer asked for a person with the button
    HELD = "held"  # an agent holds the conversation: the bot passed the message on, silent

    @property
    def by_rule(self) -> bool:
        """Decided by a rule rather than by a retrieval score."""
        return self in _BY_RULE


_BY_RULE = frozenset(
    {
        Reason.INJECTION,
        Reason.BRAND_UNKNOWN,
        Reason.OTHER_BRAND,
        Reason.TICKET_STATUS,
        Reason.CONTACT,
        Reason.SMALL_TALK,
        Reason.UNRESOLVED,
        Reason.TRIGGER,
        Reason.HANDOFF,
        Reason.HELD,
    }
)


@dataclass(frozen=True)
class Section:
    """One section of a document: a heading and the text under it."""

    heading: str
    text: str
    source: tuple[str, ...]
    line: int
    locator: str = ""  # where a person finds it in the file: "第2页", "FAQ 第5行"
    brand: str = ""  # a table row about one product; "" = the document's brand


@dataclass(frozen=True)
class Document:
    """One knowledge file read into sections (a policy, a help page, a sheet's tables)."""

    id: str
    title: str
    brand: str
    topic: str
    source: tuple[str, ...]
    updated: str
    path: str
    sections: tuple[Section, ...]

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class Faq:
    """A vetted FAQ entry: answered verbatim when a question matches closely."""

    id: str
    brand: str
    topic: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    source: tuple[str, ...]
    doc: str
    path: str
    line: int
    locator: str = ""  # "FAQ 第5行" for a sheet row


@dataclass(frozen=True)
class ConflictValue:
    value: str
    source: str
    doc: str


@dataclass(frozen=True)
class Conflict:
    """Where seeds disagree (kind=conflict) or give no value (kind=missing)."""

    id: str
    kind: Literal["conflict", "missing"]
    brand: str
    topic: str
    subject: str
    keywords: tuple[str, ...]
    values: tuple[ConflictValue, ...] = ()
    advice: str = ""
    doc: str = ""
    source: tuple[str, ...] = ()
    note: str = ""
    how_to_find: str = ""

    @property
    def docs(self) -> frozenset[str]:
        return frozenset([v.doc for v in self.values] + ([self.doc] if self.doc else []))


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    faqs: tuple[Faq, ...]
    conflicts: tuple[Conflict, ...]
    fingerprint: str
    source_titles: dict[str, str] = field(default_factory=dict)  # source file -> its title
    files: tuple = ()  # FileReport per file looked at: what was read, skipped and why
    profile: object = None  # the company profile (bot.profile.Profile)

    def doc(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id), None)


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded, indexed and cited."""

    id: str
    doc_id: str
    kind: Literal["doc", "faq"]
    title: str
    brand: str
    topic: str
    source: tuple[str, ...]
    heading: str
    text: str
    faq_id: str = ""
    locator: str = ""

    def metadata(self) -> dict[str, str]:
        # Chroma metadata values are scalars, so tuples travel joined.
        return {
            "doc_id": self.doc_id,
            "kind": self.kind,
            "title": self.title,
            "brand": self.brand,
            "topic": self.topic,
            "source": ",".join(self.source),
            "heading": self.heading,
            "faq_id": self.faq_id,
            "locator": self.locator,
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        return cls(
            id=chunk_id,
            doc_id=str(meta["doc_id"]),
            kind=meta["kind"],
            title=str(meta["title"]),
            brand=str(meta["brand"]),
            topic=str(meta["topic"]),
            source=tuple(s for s in str(meta.get("source", "")).split(",") if s),
            heading=str(meta.get("heading", "")),
            text=text,
            faq_id=str(meta.get("faq_id", "")),
            locator=str(meta.get("locator", "")),
        )


@dataclass(frozen=True)
class FaqQuestion:
    """One phrasing (question or paraphrase) of an FAQ, indexed for FAQ-first matching."""

    id: str
    faq_id: str
    brand: str
    text: str


@dataclass
class Hit:
    """A retrieved chunk with its scores."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    sparse: float = 0.0


@dataclass
class FaqMatch:
    faq: Faq
    score: float
    phrasing: str
    rank: int | None = None  # where the FAQ's chunk landed in the fused hits (None: not in top k)
    wording: float = 0.0  # how alike the query and this phrasing read (difflib ratio)
    verbatim: bool = False  # the query is (nearly) this phrasing word for word


@dataclass
class Retrieval:
    """What retrieval hands the decision stage."""

    query: str
    brand: str | None
    hits: list[Hit]
    faq_match: FaqMatch | None
    top_dense: float
    # The top hit names every part and product the question names (and it names some):
    # keyword evidence that can carry a question e5 scores low (short, colloquial, a table row).
    covered: bool = False
    # The closest passage by meaning is also the best keyword match: two retrievers agree.
    agreed: bool = False
    # The query's embedding, for the attack screen (bot/guard/screen.py): computed once.
    vector: Any = None


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    source: str
    text: str = ""
    source_title: str = ""  # the source files' titles, for people
    locator: str = ""  # page, sheet row or section where the text stands

    def public(self) -> dict[str, str]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "source_title": self.source_title,
            "locator": self.locator,
            "text": self.text,
        }


@dataclass
class Answer:
    """The bot's reply to one turn."""

    outcome: Outcome
    text: str
    citations: list[Citation] = field(default_factory=list)
    confidence: float = 0.0
    ticket_id: str | None = None
    latency_ms: float = 0.0
    reason: str = ""
    hits: list[Hit] = field(default_factory=list)
    turn_id: str = ""  # "<session>:<n>": what feedback refers to
    meta: dict = field(default_factory=dict)  # how it was made (answerer, guard, timings)

    def public(self) -> dict:
        return {
            "turn_id": self.turn_id,
            "outcome": self.outcome,
            "answer": self.text,
            "citations": [c.public() for c in self.citations],
            "confidence": round(self.confidence, 4),
            "ticket_id": self.ticket_id,
            "latency_ms": round(self.latency_ms, 1),
        }
