"""Knowledge gaps: the questions the bot did not answer well, grouped by meaning.

The backlog for whoever maintains knowledge/. A turn belongs in it when the bot refused it for
lack of knowledge, asked back, escalated it or answered with low confidence; when the customer
rated the answer 👎; or when an agent corrected the answer. Turns that ask nothing of the
knowledge are left out, judged by what the chat log recorded rather than by wording: injection
attempts, abusive turns (the sensitive-word guard masked their words) and requests for a person
with no question in them. Groups are ranked by how many conversations asked, then turns.

Fast on a large log: each distinct question (normalised, its product name taken out: the
product is part of its key instead) is read once; near-duplicates are joined by character
bigrams; only the most asked wording of each is embedded, in batches; and the grouping is a
greedy leader pass whose comparisons are numpy rows and blocks, never a Python loop over pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.guard.scope import escalation_trigger
from bot.understand import Reader, Reading

LOW_CONFIDENCE = 0.5  # the answer/escalate boundary of Answer.confidence (chain._confidence)
# Cosine on the bot's query vectors. multilingual-e5-small puts paraphrases at 0.93-0.99 and
# different questions about one product at 0.90-0.98 ("保修多久" / "安装要收费吗" 0.946); on
# `python -m eval.bench_gaps` 0.95 keeps groups 97% pure (B-cubed precision; 0.94: 91%) and
# joins about as many paraphrases. Other models need their own value (--threshold there).
EMBED_THRESHOLD = 0.95
JACCARD_THRESHOLD = 0.5
# Wordings this alike by bigrams are one question ("X品牌手机充电很慢" / "x品牌充电很慢吗"): with
# embeddings on, only the most asked of them is embedded (the benchmark's 10,000 turns: 184
# texts instead of 501). Strict, so that two stories sharing their setting ("我上个月在官方店买的
# 手机,现在充电很慢" / "…现在屏幕碎了", 0.67) are still told apart by meaning.
NEAR_DUPLICATE = 0.7
_EMBED_CHUNK = 256  # questions per embed call: bounded memory, the embedder batches within
_BLOCK = 1024  # rows per similarity block when members pick their leader

# What each kind of turn is called in the report, in the order it is listed.
KINDS: dict[str, str] = {
    "escalated": "转人工",
    "refused": "拒答",
    "clarify": "反问",
    "unsure": "低置信回答",
    "down": "👎",
    "corrected": "客服纠正",
}
_REASONS = {
    "low_confidence": "置信度低",
    "out_of_scope": "知识库没有",
    "brand_unknown": "未说明产品",
    "unresolved": "多轮未解决",
    "number_guard": "数字无出处",
    "trigger:safety": "安全隐患",
    "trigger:complaint": "投诉",
    "trigger:billing": "费用争议",
    "trigger:human": "要求人工",
}
# Not a gap in the knowledge: another company's product, an attack, a message the bot passed
# on to the agent holding the conversation (Reason.HELD).
_NOT_GAPS = frozenset({"other_brand", "injection", "held"})
# Reasons of a turn that asked for a person: a rule (bot.guard.scope) or the 转人工 button.
_HUMAN = frozenset({"trigger:human", "handoff"})
# Words left once the request for a person is cut out that still ask nothing ("我要人工客服",
# "I want a human please"): pronouns, politeness, particles, and who is asked for.
_NOTHING_ASKED = re.compile(
    r"客服|人工|真人|服务|人员|工作人员|麻烦|帮忙|一下|马上|立刻|赶紧|快点|在吗|有人吗|谢谢|"
    r"你们|我们|[我你请帮给要想找叫转接让的了吧啊呀呢吗嘛哦快在]|"
    r"\b(?:i|me|my|want|wanna|need|would|like|to|talk|speak|with|a|an|the|please|can|could|"
    r"you|get|give|someone|somebody|person|agent|now|let|hi|hello|thanks?|real|live)\b",
    re.I,
)
_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]{2,}", re.I)
# What the PII guard leaves of a number or an address (138****5678, **** **** **** 1234,
# z***@qq.com): stars, but not a masked word.
_PII_MASK = re.compile(r"(?:\*{4} ){3}\d{4}|[0-9X]*\*{4,}[0-9X]+|\S\*{3}@", re.I)
# The sensitive-word guard replaces each character of a listed word with "*". One star alone
# is usually typed ("*#06#"), unless it stands between Chinese characters.
_MASKED_WORD = re.compile(r"\*{2,}|(?<=[\u4e00-\u9fff])\*(?=[\u4e00-\u9fff])")

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z0-9]+")
# Particles that change nothing a maintainer cares about: "客服电话多少" = "客服的电话是多少?".
_FILLER = re.compile(r"[的了吗呢吧啊呀么是请问]")
_NON_WORD = re.compile(r"[\W_]+")
# Openings and closings that ask nothing ("请问…", "你好,…", "…谢谢"); the text is folded.
_OPENING = re.compile(r"^(?:请问|你好|您好|问一下|问下|想问一下|想问下|麻烦问一下|hi|hello)+")
_CLOSING = re.compile(r"(?:谢谢|谢啦|多谢|thanks|thankyou|[啊呀呢吧吗嘛哦啦么呐])+$")

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Group:
    """Similar gap questions: how often they were asked, how they were handled, when last."""

    questions: list[str]  # distinct wordings, most asked first
    count: int = 0  # turns
    outcomes: Counter = field(default_factory=Counter)  # "escalated (low_confidence)" -> turns
    last_seen: str = ""
    brand: str | None = None
    kinds: Counter = field(default_factory=Counter)  # a KINDS key -> turns
    session_ids: set[str] = field(default_factory=set)
    agent_answers: list[str] = field(default_factory=list)  # what agents answered instead
    comments: list[str] = field(default_factory=list)  # what 👎 raters wrote

    @property
    def example(self) -> str:
        return self.questions[0]

    @property
    def sessions(self) -> int:
        """Conversations that asked: one customer asking five times is not five customers."""
        return len(self.session_ids)


@dataclass
class _Turn:
    """One turn in the backlog, with every way it fell short."""

    question: str  # as the customer wrote it (spaces collapsed)
    session: str
    ts: str
    asked: str = ""  # what is compared: the question without a request for a person in it
    handled: str | None = None  # `handling(record)` when the log shows a gap
    kinds: set[str] = field(default_factory=set)
    comment: str = ""
    agent_answer: str = ""


def is_gap(record: dict) -> bool:
    """Refused for lack of knowledge, asked back, escalated, or answered with low confidence."""
    outcome = record.get("outcome")
    if record.get("reason") in _NOT_GAPS or record.get("injection"):
        return False
    if outcome in ("refused", "escalated", "clarify"):
        return True
    confidence = record.get("confidence")
    return outcome == "answered" and confidence is not None and float(confidence) < LOW_CONFIDENCE


def _kind(record: dict) -> str:
    outcome = record.get("outcome")
    return "unsure" if outcome == "answered" else str(outcome)


def handling(record: dict) -> str:
    """How the turn was handled, with the reason: `escalated (trigger:human)`."""
    outcome, reason = record.get("outcome", "?"), record.get("reason") or ""
    if outcome == "answered":
        return f"answered (confidence {float(record.get('confidence', 0)):.2f})"
    return f"{outcome} ({reason})" if reason else outcome


def is_injection(record: dict) -> bool:
    """The turn was refused as an attack, by the patterns or by the semantic screen."""
    return bool(record.get("injection")) or record.get("reason") in ("injection", "screened")


def masked_words(question: str) -> bool:
    """The question holds words the sensitive-word guard masked (abuse), not just masked PII."""
    return "*" in question and bool(_MASKED_WORD.search(_PII_MASK.sub(" ", question)))


def without_human_request(question: str) -> str:
    """The question with its requests for a person cut out ("转人工,保修怎么算" → "保修怎么算")."""
    rest = question
    for _ in range(5):
        trig = escalation_trigger(rest)
        if trig is None or trig.category != "human" or not trig.matched:
            break
        rest = rest.replace(trig.matched, " ", 1)
    return _NON_WORD.sub(" ", rest).strip()


def _asks_something(rest: str, reader: Reader) -> bool:
    """What is left of a request for a person still asks a question of the knowledge."""
    words = _NOTHING_ASKED.sub(" ", rest)
    found = _WORD.findall(words)
    weight = sum(1 if len(w) == 1 else 2 for w in found)
    return weight >= 4 or (bool(found) and reader.read(words).in_domain)


def normalize(question: str) -> str:
    """The key under which wordings count as one question: width, case, spaces, punctuation
    polite openings and closings ignored ("请问热水器保修多久啊?" = "热水器 保修多久")."""
    key = _NON_WORD.sub("", unicodedata.normalize("NFKC", question).casefold())
    return _CLOSING.sub("", _OPENING.sub("", key)) or key


def tokens(text: str) -> set[str]:
    """Character bigrams of Chinese runs (fillers dropped) plus Latin words and numbers."""
    low = text.lower()
    out: set[str] = set(_LATIN.findall(low))
    for run in _CJK_RUN.findall(_FILLER.sub("", low)):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|, 0 for two empty sets."""
    return len(a & b) / len(a | b) if a | b else 0.0


class _Cosine:
    """Similarities as dot products of unit query vectors."""

    def __init__(self, vectors: np.ndarray):
        v = np.asarray(vectors, dtype=np.float32)
        self.v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def row(self, i: int, cols: np.ndarray) -> np.ndarray:
        return self.v[cols] @ self.v[i]

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.v[rows] @ self.v[cols].T


class _Jaccard:
    """Bigram Jaccard through an inverted index: one row costs the postings of one question."""

    def __init__(self, token_sets: list[set[str]]):
        ids: dict[str, int] = {}
        rows = [
            np.array([ids.setdefault(t, len(ids)) for t in ts], dtype=np.int64) for ts in token_sets
        ]
        self.rows = rows
        self.sizes = np.array([len(r) for r in rows], dtype=np.float64)
        self.n = len(rows)
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        owner = np.repeat(np.arange(self.n), lengths)
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        order = np.argsort(flat, kind="stable")
        self.owners = owner[order]  # question ids, grouped by token
        self.starts = np.searchsorted(flat[order], np.arange(len(ids) + 1))

    def _intersections(self, i: int) -> np.ndarray:
        toks = self.rows[i]
        if not len(toks):
            return np.zeros(self.n)
        hits = np.concatenate([self.owners[self.starts[t] : self.starts[t + 1]] for t in toks])
        return np.bincount(hits, minlength=self.n).astype(np.float64)

    def row(self, i: int, cols: np.ndarray) -> np.ndarray:
        inter = self._intersections(i)[cols]
        union = self.sizes[cols] + self.sizes[i] - inter
        return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.vstack([self.row(int(i), cols) for i in rows]).reshape(len(rows), len(cols))


def _embedded(texts: list[str], embed: Embed) -> np.ndarray:
    """Query vectors of `texts`, embedded shortest first (less padding per batch)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = [
        np.asarray(embed([texts[i] for i in order[s : s + _EMBED_CHUNK]]), dtype=np.float32)
        for s in range(0, len(order), _EMBED_CHUNK)
    ]
    out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
    out[order] = np.vstack(parts)
    return out


def _cluster(sim: _Cosine | _Jaccard, members: np.ndarray, threshold: float) -> np.ndarray:
    """For each of `members` (most asked first), the member that leads its group.

    A question leads when no earlier leader is within `threshold`; the others join the most
    similar earlier leader. Leaders are found one row at a time (one per group), members
    placed in blocks: no Python loop over pairs."""
    n = len(members)
    claimed = np.zeros(n, dtype=bool)
    leads: list[int] = []
    for p in range(n):
        if claimed[p]:
            continue
        leads.append(p)
        rest = p + 1 + np.flatnonzero(~claimed[p + 1 :])
        if len(rest):
            claimed[rest[sim.row(int(members[p]), members[rest]) >= threshold]] = True
    leader = np.arange(n)
    lead_pos = np.array(leads)
    followers = np.flatnonzero(claimed)
    for s in range(0, len(followers), _BLOCK):
        rows = followers[s : s + _BLOCK]
        scores = sim.block(members[rows], members[lead_pos])
        scores[lead_pos[None, :] > rows[:, None]] = -np.inf  # only leaders asked more often
        leader[rows] = lead_pos[np.argmax(scores, axis=1)]
    return leader


def _leaders(
    texts: list[str],
    asked: list[int],
    brands: list[str | None],
    embed: Embed | None,
    threshold: float,
) -> np.ndarray:
    """For each question (most asked first), the question that leads its group; questions
    about different products never share one."""
    by_brand = [
        np.array([i for i, b in enumerate(brands) if b == brand]) for brand in dict.fromkeys(brands)
    ]
    bigrams = _Jaccard([tokens(t) for t in texts])
    leader = np.arange(len(texts))
    if embed is None:
        for members in by_brand:
            leader[members] = members[_cluster(bigrams, members, threshold)]
        return leader
    # Near-duplicates first, by bigrams; then the most asked wording of each is embedded and
    # those are grouped by meaning, the largest first.
    for members in by_brand:
        leader[members] = members[_cluster(bigrams, members, NEAR_DUPLICATE)]
    heads = np.unique(leader)
    size = np.bincount(leader, weights=asked, minlength=len(texts))
    cosine = _Cosine(_embedded([texts[i] for i in heads], embed))
    row = np.full(len(texts), -1)
    row[heads] = np.arange(len(heads))  # question -> its row among the embedded
    top = heads.copy()
    for members in by_brand:
        own = heads[np.isin(heads, members)]
        own = own[np.argsort(-size[own], kind="stable")]
        top[row[own]] = own[_cluster(cosine, row[own], threshold)]
    return top[row[leader]]


def knowledge_gaps(
    records: Sequence[dict],
    embed: Embed | None = None,
    threshold: float | None = None,
    reader: Reader | None = None,
    feedback: Iterable = (),
    corrected: Iterable[dict] = (),
) -> list[Group]:
    """The backlog: gap turns grouped by similarity, most asked first.

    `embed` is the bot embedder's `embed_queries`; without it, bigram Jaccard is used.
    `feedback` holds 👎 votes (`FeedbackStore.list(rating="down")`: `session_id`, `turn_id`,
    `comment`), matched to the log by session and turn. `corrected` holds agents' corrections,
    dicts with `session`, `turn_id` (or None), `question` and `agent_answer`. Questions about
    different products (ours by the profile `reader` knows, another brand, none named) never
    share a group. Groups are ranked by conversations, then turns, then the latest turn.
    """
    if threshold is None:
        threshold = EMBED_THRESHOLD if embed is not None else JACCARD_THRESHOLD
    reader = reader or Reader()
    turns = _turns(records, feedback, corrected, reader)

    names = _names(reader)
    readings: dict[str, Reading] = {}
    by_key: dict[tuple[str | None, str], list[_Turn]] = {}
    for t in turns:
        plain = normalize(t.asked)
        if not plain:
            continue
        r = readings.get(plain)
        if r is None:
            r = readings[plain] = reader.read(t.asked)
        if r.off_topic and t.kinds == {"refused"}:
            continue  # a refusal of weather or a poem is the bot working as meant
        # The product goes into the key and out of the words: "<brand> <model>充电很慢" and
        # "<brand>手机充电很慢" are one question about one product.
        if names is not None:
            t.asked = " ".join(names.sub(" ", t.asked).split()) or t.asked
        brand = r.brand_hint or ("other" if r.other_brand else None)
        by_key.setdefault((brand, normalize(t.asked) or plain), []).append(t)
    if not by_key:
        return []
    # Most asked (then most recent) questions first, so they lead the groups. Sorts are stable.
    keys = sorted(by_key, key=lambda k: max(t.ts for t in by_key[k]), reverse=True)
    keys.sort(key=lambda k: len(by_key[k]), reverse=True)
    texts = [_most_common(t.asked for t in by_key[k]) for k in keys]
    wordings = [_most_common(t.question for t in by_key[k]) for k in keys]
    brands = [brand for brand, _ in keys]
    leader = _leaders(texts, [len(by_key[k]) for k in keys], brands, embed, threshold)

    groups: dict[int, Group] = {}
    for i, key in enumerate(keys):
        lead = int(leader[i])
        group = groups.get(lead)
        if group is None:
            group = groups[lead] = Group(questions=[], brand=brands[lead])
        group.questions.append(wordings[i])
        for t in by_key[key]:
            _add(group, t)
    out = list(groups.values())
    out.sort(key=lambda g: (g.sessions, g.count, g.last_seen), reverse=True)
    return out


def _names(reader: Reader) -> re.Pattern[str] | None:
    """The words that name our products, with a model number after them ("X10")."""
    words = sorted(
        {w for ws in reader.brand_words.values() for w in ws if w}, key=len, reverse=True
    )
    if not words:
        return None
    spaced = [r"\s*".join(map(re.escape, w.replace(" ", ""))) for w in words]
    return re.compile(rf"(?:{'|'.join(spaced)})[a-z0-9]*", re.I)


def _most_common(texts: Iterable[str]) -> str:
    """The wording used most often; the shortest of those tied."""
    return min(Counter(texts).items(), key=lambda kv: (-kv[1], len(kv[0])))[0]


def _add(group: Group, t: _Turn) -> None:
    group.count += 1
    group.session_ids.add(t.session)
    group.kinds.update(t.kinds)
    if t.handled:
        group.outcomes[t.handled] += 1
    group.last_seen = max(group.last_seen, t.ts)
    if t.agent_answer and t.agent_answer not in group.agent_answers:
        group.agent_answers.append(t.agent_answer)
    if t.comment and t.comment not in group.comments:
        group.comments.append(t.comment)


def _turns(
    records: Sequence[dict], feedback: Iterable, corrected: Iterable[dict], reader: Reader
) -> list[_Turn]:
    """Every turn that fell short, once, with all the ways it did; noise left out."""
    feedback, corrected = list(feedback), list(corrected)
    found: dict[int, tuple[dict, _Turn]] = {}  # id(record) -> the record and its turn

    def turn_of(r: dict) -> _Turn:
        if id(r) not in found:
            found[id(r)] = (
                r,
                _Turn(str(r.get("question") or ""), _session(r), str(r.get("ts") or "")),
            )
        return found[id(r)][1]

    for r in records:
        if is_gap(r):
            t = turn_of(r)
            t.handled = handling(r)
            t.kinds.add(_kind(r))
    if feedback or corrected:
        by_turn = {(_session(r), str(r["turn_id"])): r for r in records if r.get("turn_id")}
        for f in feedback:
            r = by_turn.get((_field(f, "session_id", "session"), _field(f, "turn_id")))
            if r is None:
                continue  # the log no longer holds the turn (rotated, or written elsewhere)
            t = turn_of(r)
            t.kinds.add("down")
            t.comment = t.comment or " ".join(_field(f, "comment").split())
        by_question: dict[tuple[str, str], dict] = {}
        if any(not c.get("turn_id") for c in corrected):
            by_question = {
                (_session(r), normalize(str(r.get("question") or ""))): r for r in records
            }
        for c in corrected:
            session, question = str(c.get("session") or ""), str(c.get("question") or "")
            r = (
                by_turn.get((session, str(c["turn_id"])))
                if c.get("turn_id")
                else by_question.get((session, normalize(question)))
            )
            if r is None:  # a turn the log lacks: the correction's own question stands for it
                r = {"session": session, "question": question, "ts": str(c.get("ts") or "")}
            t = turn_of(r)
            t.kinds.add("corrected")
            t.agent_answer = t.agent_answer or str(c.get("agent_answer") or "").strip()
            t.question = t.question or question

    out = []
    asks: dict[str, str | None] = {}  # a request for a person -> the question in it, if any
    for r, t in found.values():
        t.question = t.asked = " ".join(t.question.split())
        if not t.question or is_injection(r) or masked_words(t.question):
            continue
        if r.get("reason") in _HUMAN:
            if t.question not in asks:
                rest = without_human_request(t.question) if r.get("reason") != "handoff" else ""
                asks[t.question] = rest if rest and _asks_something(rest, reader) else None
            if asks[t.question] is None:
                continue
            t.asked = asks[t.question]
        out.append(t)
    return out


def _session(r: dict) -> str:
    # A turn logged without a session counts as a conversation of its own.
    return str(r.get("session") or f"?{id(r)}")


def _field(obj, *names: str) -> str:
    """The first of `names` that `obj` (a Feedback, a dict) has, as text ('' when none)."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return str(value)
    return ""


def format_gaps(groups: Sequence[Group], limit: int = 30, examples: int = 5) -> str:
    """The backlog as plain text, Chinese first: one numbered entry per group."""
    turns = sum(g.count for g in groups)
    head = f"知识缺口:{turns} 轮对话,{len(groups)} 组(按提问的会话数排序)"
    if not groups:
        return f"{head}\n\n日志中没有拒答、反问、转人工、低置信、👎 或客服纠正的问题。\n"
    lines = [head, ""]
    for n, g in enumerate(groups[:limit], 1):
        kinds = "、".join(f"{KINDS.get(k, k)} {g.kinds[k]}" for k in KINDS if g.kinds[k])
        reasons = Counter()
        for handled, v in g.outcomes.items():
            reasons[_reason(handled)] += v
        lines.append(f"{n}. {g.example}")
        lines.append(
            f"   {g.count} 次 · {g.sessions} 个会话 · 产品 {_brand(g.brand)} · 最近 {_when(g.last_seen)}"
        )
        lines.append(f"   处理:{kinds}")
        if reasons:
            lines.append("   原因:" + "、".join(f"{k} {v}" for k, v in reasons.most_common()))
        others = g.questions[1:examples]
        if others:
            more = len(g.questions) - examples
            lines.append(
                "   其他问法:" + " | ".join(others) + (f"(另有 {more} 种)" if more > 0 else "")
            )
        if g.agent_answers:
            lines.append(f"   客服答复:{_short(g.agent_answers[0])}")
        if g.comments:
            lines.append(f"   客户留言:{_short(g.comments[0])}")
    if len(groups) > limit:
        rest = groups[limit:]
        lines.append(f"\n另有 {len(rest)} 个较小的组未列出(共 {sum(g.count for g in rest)} 轮)。")
    return "\n".join(lines) + "\n"


def _reason(handled: str) -> str:
    """`escalated (low_confidence)` as the report says it: 置信度低."""
    m = re.fullmatch(r"\w+ \((.+)\)", handled)
    if handled.startswith("answered"):
        return "回答把握低"
    return _REASONS.get(m.group(1), m.group(1)) if m else handled


def _brand(brand: str | None) -> str:
    return {None: "未指明", "other": "其他品牌"}.get(brand, brand)


def _when(ts: str) -> str:
    return ts[:16].replace("T", " ") if ts else "?"


def _short(text: str, chars: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1] + "…"
