"""The output guard for generated text: every sentence must be backed by the chunks it cites.

Checked sentence by sentence, so a streamed answer can be shown as each sentence passes:

- every [n] mark must point at a packed chunk (one out of range fails the sentence);
- a sentence stating a figure must cite at least one chunk, and every figure in it must appear
  in the text of the chunks it cites;
- a sentence with neither figure nor mark passes only when each of its clauses is courtesy
  ("您好", "如有其他问题,欢迎联系客服") or the "not in the context" phrase the prompt asks for.

Sentences that fail are dropped; the citations of those kept are renumbered in order of use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.answer.context import Packed, header
from bot.answer.prompts import UNKNOWN_EN, UNKNOWN_ZH
from bot.guard.numbers import normalize, number_tokens, unsupported_numbers
from bot.types import Citation

# [1], 【1】, ［1］, and lists inside one bracket: [1,2] / [1、2].
_MARK_BODY = r"\d{1,3}(?:\s*[,,、]\s*\d{1,3})*"
MARK = re.compile(rf"[\[【［]\s*({_MARK_BODY})\s*[\]】］]")
_MARKS_AFTER = rf"(?:[ \t]*[\[【［]\s*{_MARK_BODY}\s*[\]】］])*"
# A sentence ends at Chinese end punctuation, an English full stop before white space (not a
# decimal point, not "1." in a list), or a line break. Closing quotes and the citation marks
# the model often puts after the full stop stay with the sentence they close.
SENTENCE_END = re.compile(rf"(?:[。!?;!?;…]+|(?<![\d.])\.(?=\s)|\n+)[”’」』)\"']*{_MARKS_AFTER}")
# What may still turn out to be marks closing the sentence before it: hold it until it does.
_MAYBE_MARKS = re.compile(r"[ \t]*(?:[\[【［][\d\s,,、]*(?:[\]】］][ \t]*)?)*")
# "回答:" / "Answer:" copied from the prompt's example is a label, not part of the answer.
_ANSWER_LABEL = re.compile(r"^\s*(?:回答|答复|答|Answer|A)\s*[::]\s*", re.I)
_END_PUNCT = re.compile(r"[。!?;!?;.…\s]*$")
_MARKS_AFTER_STOP = re.compile(r"([。!?;!?;.]+)[ \t]*((?:\[\d+\])+)")
_LIST_MARKER = re.compile(r"(?m)^\s*(?:\d{1,2}\s*[.、)](?!\d)|[-*•]\s)")

UNKNOWN = re.compile(
    "|".join(
        [
            re.escape(UNKNOWN_ZH),
            re.escape(UNKNOWN_EN),
            r"资料(?:中|里)?(?:没有|未)(?:提到|提及|涉及|包含|找到|相关)",
            r"没有(?:找到)?相关(?:的)?(?:信息|资料|内容)",
            r"(?i:(?:information|context)[^.]{0,30}(?:does not|doesn't) (?:cover|mention|say))",
        ]
    )
)
# Courtesy that states nothing: the only unmarked clauses allowed besides the "not in the
# context" phrase. Matched against a whole clause, so "如有故障可免费上门" is not courtesy.
_COURTESY = re.compile(
    r"""(?x)
    (?:您好|你好|好的|亲|嗯|收到|不客气)
    | (?:很|非常)?(?:感谢|谢谢|多谢)(?:您|你)?(?:的)?(?:咨询|提问|耐心等待|理解|支持|来电)?
    | (?:很|非常)?抱歉(?:给您带来(?:了)?不便)?
    | 如(?:果)?(?:您)?(?:还)?有(?:其他|任何|更多)?(?:问题|疑问|需要)(?:的话)?
    | (?:欢迎|请|可以)?(?:您)?(?:随时)?(?:联系|咨询|告诉)(?:我们|我|人工客服|客服)
    | 请问(?:您)?还有(?:其他|什么)(?:问题|需要)?(?:可以|需要)?(?:帮您|帮助|帮忙)?(?:的)?(?:吗)?
    | 祝您(?:生活愉快|愉快|一切顺利)
    | 希望(?:以上|这些)?(?:信息|回答|解答)?(?:能|可以)?(?:对您有所?帮助|帮到您|有帮助|有所帮助)
    | (?:建议您?|请您?|您可以)(?:直接)?(?:联系|咨询|拨打)(?:官方)?(?:的)?(?:人工客服|客服|售后)
      (?:热线|电话)?(?:进一步)?(?:咨询|确认|了解|处理)?
    | hello | hi | sorry | you're\ welcome | (?:i\ )?hope\ this\ helps | (?:glad|happy)\ to\ help
    | thanks? (?:\ you)? (?:\ for\ (?:asking|your\ question|contacting\ us))?
    | if\ you\ have\ (?:any\ )?(?:other|more|further)\ questions
    | (?:please\ )?(?:feel\ free\ to\ )?(?:contact|ask)\ (?:us|our\ customer\ service|customer\ service)
    | please\ contact\ (?:our\ )?(?:customer\ service|support|a\ human\ agent)
      (?:\ for\ (?:more|further)\ (?:help|details))?
    """
)
_CLAUSE = re.compile(r"[,,;;::、]")
MAX_UNKNOWN_CLAUSE = 30
_WORDS = re.compile(r"\w")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
MIN_QUOTE_CHARS = 8  # shorter unmarked text may sit in a chunk by chance


@dataclass
class Guarded:
    """Generated text after the guard, with the citations its [n] marks now point at."""

    text: str
    citations: list[Citation]
    violations: list[str]
    dropped_sentences: int
    says_unknown: bool


@dataclass
class _Verdict:
    ok: bool
    marks: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    unknown: bool = False
    quoted: int | None = None  # the chunk an unmarked sentence was found in, verbatim


def strip_marks(text: str) -> str:
    """The sentence without its [n] marks (their digits are not figures)."""
    return MARK.sub("", text)


def marks_of(text: str) -> list[int]:
    """Every cited number, in order, lists inside one bracket expanded."""
    return [int(n) for m in MARK.finditer(text) for n in re.split(r"\s*[,,、]\s*", m.group(1))]


def split_generated(text: str) -> list[str]:
    """Sentences of generated text (Chinese or English), each with its trailing marks and the
    white space before it, so that joining them gives back the text."""
    parts, last = [], 0
    for m in SENTENCE_END.finditer(text):
        parts.append(text[last : m.end()])
        last = m.end()
    if last < len(text):
        parts.append(text[last:])
    return [p for p in parts if p.strip()]


def check_sentence(sentence: str, packed: Packed, question: str = "") -> _Verdict:
    """Judge one sentence against the packed chunks (marks as the model wrote them)."""
    marks = marks_of(sentence)
    valid = [n for n in marks if 1 <= n <= len(packed.chunks)]
    violations = [f"mark [{n}] out of range" for n in marks if n not in valid]
    body = _LIST_MARKER.sub("", strip_marks(sentence)).strip()
    if not _WORDS.search(body):
        return _Verdict(ok=False)  # a stray mark, bullet or full stop: nothing to show or fault
    figures = number_tokens(body)
    quoted = None
    if not marks:
        harmless, unknown = _states_nothing(body)
        if harmless and not figures:
            return _Verdict(ok=True, unknown=unknown)
        quoted = quoted_from(body, packed)
        if quoted is None:
            if figures:
                violations += [f"number {f} without a citation" for f in figures]
            else:
                violations.append(f"uncited sentence: {body[:60]}")
            return _Verdict(ok=False, violations=violations)
        valid = [quoted]
    if figures and valid:
        cited = sorted(set(valid))
        where = "".join(f"[{n}]" for n in cited)
        missing = unsupported_numbers(body, [packed.haystack(n) for n in cited])
        violations += [f"number {f} not in {where}" for f in missing]
    elif figures:
        violations += [f"number {f} without a citation" for f in figures]
    if question and restates(body, question):
        violations.append(f"restates the question: {body[:60]}")
    return _Verdict(ok=not violations, marks=valid, violations=violations, quoted=quoted)


def content_units(text: str) -> set[str]:
    """Content units: Chinese character pairs, Latin words and figures."""
    t = normalize(text).lower()
    units = set(re.findall(r"[a-z]+|\d+(?:[.:\-×/]\d+)*%?", t))
    for run in _CJK_RUN.findall(t):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            units.add(run)
    return units


def restates(body: str, question: str) -> bool:
    """Whether a sentence says nothing the question did not (small models hand it back, cited)."""
    return not (content_units(body) - content_units(question))


def quoted_from(body: str, packed: Packed) -> int | None:
    """The first packed chunk (1-based) holding an unmarked sentence verbatim, if any."""
    key = _squeeze(body)
    if len(key) < MIN_QUOTE_CHARS:
        return None
    return next(
        # The chunk's text only: a title run into its heading is not a sentence of the source.
        (n for n, c in enumerate(packed.chunks, 1) if key in _squeeze(c.text)),
        None,
    )


def _squeeze(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text)).lower()


def _clause_key(clause: str) -> str:
    key = re.sub(r"[^\w\s']", "", clause).strip().lower()
    return re.sub(r"\s+", " ", key)


def _states_nothing(body: str) -> tuple[bool, bool]:
    """(every clause is courtesy or the "not in the context" phrase, some clause is the latter)."""
    unknown = False
    for clause in _CLAUSE.split(body):
        key = _clause_key(clause)
        if not key or _COURTESY.fullmatch(key):
            continue
        if UNKNOWN.search(clause) and len(key) <= MAX_UNKNOWN_CLAUSE:
            unknown = True
            continue
        return False, unknown
    return True, unknown


class SentenceGate:
    """Streaming guard: feed token deltas, get back each sentence once it is complete and passes.

    Marks in the sentences returned are already renumbered; `result()` gives the whole
    `Guarded` so far, and `flush()` releases the last, unterminated sentence.
    """

    def __init__(self, packed: Packed, question: str = ""):
        self.packed = packed
        self.question = question
        self._buf = ""
        self._kept: list[str] = []
        self._order: list[int] = []  # packed numbers in order of first use
        self._violations: list[str] = []
        self._dropped = 0
        self._unknown = False
        self._space = ""  # white space between sentences, kept for the next one admitted
        # Small models copy a context entry whole, "[2] 标题(小节)" included: the header goes.
        # (Only "标题(小节)" headers: an answer may well begin with a bare document title.)
        heads = sorted({h for c in packed.chunks if (h := header(c)) != c.title}, key=len)[::-1]
        self._headers = (
            re.compile(
                r"^\s*(?:[\[【［]\d+[\]】］]\.?\s*)?(?:" + "|".join(map(re.escape, heads)) + r")\s*"
            )
            if heads
            else None
        )

    def feed(self, delta: str) -> list[str]:
        """Add generated text; return the sentences completed by it that pass the guard."""
        self._buf += delta
        out = []
        while True:
            m = SENTENCE_END.search(self._buf)
            if m is None:
                break
            rest = self._buf[m.end() :]
            if _MAYBE_MARKS.fullmatch(rest):
                break  # marks closing this sentence may still be on their way
            sentence, self._buf = self._buf[: m.end()], rest
            out += self._admit(sentence)
        return out

    def flush(self) -> list[str]:
        """The end of the reply: judge whatever is left."""
        sentences = split_generated(self._buf)
        self._buf = ""
        out = []
        for s in sentences:
            out += self._admit(s)
        return out

    def result(self) -> Guarded:
        """Everything admitted so far (call after `flush()` for the whole reply)."""
        chunks = self.packed.chunks
        # Same fields as bot.answer.extractive.citation, so equal chunks give equal citations.
        citations = [
            Citation(
                doc_id=chunks[n - 1].doc_id,
                title=chunks[n - 1].title,
                source=",".join(chunks[n - 1].source),
                text=chunks[n - 1].text,
            )
            for n in self._order
        ]
        return Guarded(
            text="".join(self._kept).strip(),
            citations=citations,
            violations=list(self._violations),
            dropped_sentences=self._dropped,
            says_unknown=self._unknown and not citations,
        )

    def _admit(self, sentence: str) -> list[str]:
        if not sentence.strip():
            self._space += sentence
            return []
        sentence, self._space = self._space + sentence, ""
        if not self._kept:
            sentence = _ANSWER_LABEL.sub("", sentence, count=1)
        if self._headers is not None:
            sentence = self._headers.sub("", sentence, count=1)
        verdict = check_sentence(sentence, self.packed, self.question)
        if not verdict.ok:
            if verdict.violations:
                self._violations += verdict.violations
                self._dropped += 1
            return []
        for n in verdict.marks:
            if n not in self._order:
                self._order.append(n)
        self._unknown = self._unknown or verdict.unknown
        if verdict.quoted is not None:
            sentence = _END_PUNCT.sub(
                lambda m: f"[{verdict.quoted}]{m.group(0)}", sentence, count=1
            )
        text = self._renumber(sentence)
        if not self._kept:
            text = text.lstrip()
        self._kept.append(text)
        return [text]

    def _renumber(self, sentence: str) -> str:
        def sub(m: re.Match) -> str:
            seen: list[int] = []
            for n in re.split(r"\s*[,,、]\s*", m.group(1)):
                new = self._order.index(int(n)) + 1
                if new not in seen:
                    seen.append(new)
            return "".join(f"[{n}]" for n in seen)

        text = MARK.sub(sub, sentence)
        # "[1][1]" from two brackets citing the same chunk reads as a slip: say it once.
        text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)
        # Marks go before the full stop they were written after: "一年。[1]" → "一年[1]。".
        return _MARKS_AFTER_STOP.sub(r"\2\1", text)


def guard_text(text: str, packed: Packed, question: str = "") -> Guarded:
    """Guard a complete reply: the same checks as the streaming gate."""
    gate = SentenceGate(packed, question)
    gate.feed(text)
    gate.flush()
    return gate.result()
