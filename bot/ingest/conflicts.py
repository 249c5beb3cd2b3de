"""Conflicts and missing values found in the knowledge text at ingest, beside the hand-written ones.

A conflict is one kind of value (phone number, duration, price, percentage, date) stated
differently for the same subject in two documents; a missing value is a pointer such as
"以官网公布为准" standing where a value is expected. A false conflict makes the bot tell a
customer that its sources disagree when they do not, so every test here leans towards silence:
a pair is reported only when its subjects match closely and nothing around them tells them apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.guard.numbers import normalize
from bot.types import GENERAL, Conflict, ConflictValue, Document, Faq

AUTO = "auto-"  # the id prefix of every conflict or missing value found here


def detect(
    documents: Sequence[Document], faqs: Sequence[Faq], known: Sequence[Conflict] = ()
) -> list[Conflict]:
    """Conflicts and missing values found in the text; ones already covered by `known` (hand-written) are left out."""
    units = _units(documents, faqs)
    statements = [s for u in units for s in _statements(u)]
    found = _conflicts(statements)
    found = [c for c in found if not _known_conflict(c, known)]
    missing = [m for m in _missing(units, statements) if not _known_missing(m, known)]
    return found + missing


# --- statement units: one sentence or table row each ---------------------------------------------


@dataclass(frozen=True)
class _Unit:
    doc: str
    source: str
    brand: str
    topic: str
    context: str  # the section heading, or the FAQ's question (normalized)
    text: str  # normalized; text[i] was written at raw[pos[i]]
    raw: str
    pos: tuple[int, ...]
    group: int  # the units of one section or one FAQ answer share it
    row: bool  # a flattened table row "列名:值;列名:值"

    def written(self, start: int, end: int) -> str:
        """The normalized span [start, end) as it was written."""
        orig = self.raw[self.pos[start] : self.pos[end - 1] + 1]
        return orig if normalize(orig) == self.text[start:end] else self.text[start:end]


_CELL_NAME = re.compile(r"^\s*[^:;,。]{1,24}:")


def _is_row(line: str) -> bool:
    """A flattened table row: ";"-separated cells, most of them "列名:值" (a cell without a
    column name is its value alone), and no sentence end."""
    parts = [p for p in line.split(";") if p.strip()]
    named = sum(bool(_CELL_NAME.match(p)) for p in parts)
    return len(parts) >= 2 and "。" not in line and named >= max(1, len(parts) / 2)


_SENTENCE = re.compile(r"[^。!?\n]+[。!?]*")


def _split(raw: str, **where) -> list[_Unit]:
    # Normalized character by character, so every value can be quoted as it was written.
    chars, pos = [], []
    for i, ch in enumerate(raw):
        n = normalize(ch)
        chars.append(n)
        pos.extend([i] * len(n))
    text = "".join(chars)
    units = []
    for line in re.finditer(r"[^\n]+", text):
        row = _is_row(line.group(0))
        at = line.start()
        spans = (
            [line.span()]
            if row
            else [(at + m.start(), at + m.end()) for m in _SENTENCE.finditer(line.group(0))]
        )
        for s, e in spans:
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if s < e:
                r0 = pos[s]
                units.append(
                    _Unit(
                        text=text[s:e],
                        raw=raw[r0 : pos[e - 1] + 1],
                        pos=tuple(p - r0 for p in pos[s:e]),
                        row=row,
                        **where,
                    )
                )
    return units


def _units(documents: Sequence[Document], faqs: Sequence[Faq]) -> list[_Unit]:
    units: list[_Unit] = []
    group = 0
    for d in documents:
        for sec in d.sections:
            group += 1
            source = sec.source[0] if sec.source else (d.source[0] if d.source else d.id)
            where = dict(doc=d.id, source=source, brand=d.brand, topic=d.topic, group=group)
            units += _split(sec.text, context=normalize(sec.heading), **where)
    for f in faqs:
        group += 1
        source = f.source[0] if f.source else f.doc
        where = dict(doc=f.doc, source=source, brand=f.brand, topic=f.topic, group=group)
        units += _split(f.answer, context=normalize(f.question), **where)
    return units


# --- values ---------------------------------------------------------------------------------------

_CN_NUM = "零一二两三四五六七八九十百千万"
_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d+)?"

_PHONE = re.compile(r"(?<![\d.\-])(?:\+?86[- ]?)?\d{2,4}(?:[- ]?\d{2,4}){1,3}(?![\d%.:])")
_PHONE_WORDS = re.compile(r"电话|热线|专线|拨打|致电|号码|手机|联系|客服|phone|tel", re.I)
_DATE = re.compile(
    r"\d{4}年\d{1,2}月(?:\d{1,2}[日号])?|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|(?<![\d年])\d{1,2}月\d{1,2}[日号]|(?<!\d)\d{4}年(?!\d)"
)
_PRICE = re.compile(
    rf"(?:¥|RMB|人民币)\s*{_AMOUNT}(?:\s*-\s*{_AMOUNT})?元?"
    rf"|(?:(?<![\d.]){_AMOUNT}(?:\s*-\s*{_AMOUNT})?\s*|(?<![{_CN_NUM}])[{_CN_NUM}]+)"
    r"(?:万元|元|块钱)(?![旦件器素宵])(?:/[次对个台件套年月天]{1,2})?"
)
_PERCENT = re.compile(rf"(?<![\d.]){_AMOUNT}(?:\s*-\s*{_AMOUNT})?\s*%")
# "7×24小时" is a claim about service hours, "第3天" an ordinal, "3月15日" a date.
_DURATION = re.compile(
    r"(?<![\d.×xX*/第月])(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*"
    r"(个工作日|工作日|个自然日|自然日|个月|年|周(?!年)|天|日|个小时|小时|分钟)"
    rf"|(?<![{_CN_NUM}第几每])([一二两三四五六七八九十百]+|半)"
    r"(个工作日|工作日|个月|年|周(?!年)|天|个小时|小时)"
)
_UNIT = {
    "年": (12, "月"),
    "个月": (1, "月"),
    "周": (7, "天"),
    "天": (1, "天"),
    "日": (1, "天"),
    "自然日": (1, "天"),
    "个自然日": (1, "天"),
    "工作日": (1, "工作日"),
    "个工作日": (1, "工作日"),
    "小时": (1, "小时"),
    "个小时": (1, "小时"),
    "分钟": (1, "分钟"),
}
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}|\d{1,2}点")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.A)


def _cn_number(s: str) -> float:
    """A Chinese numeral (十五, 两百, 半) as a number."""
    if s == "半":
        return 0.5
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_DIGIT:
            cur = _CN_DIGIT[ch]
        elif ch in "十百千万":
            total += (cur or 1) * {"十": 10, "百": 100, "千": 1000, "万": 10000}[ch]
            cur = 0
    return float(total + cur)


def _phone_key(token: str, sentence: str) -> str | None:
    digits = re.sub(r"\D", "", token)
    if re.fullmatch(r"(?:400|800)\d{7}", digits):
        return digits
    if not _PHONE_WORDS.search(sentence):
        return None  # a bare 11-digit or 95xxx figure may be an order number or a count
    if re.fullmatch(r"1[3-9]\d{9}|95\d{3}(?:\d{3})?", digits):
        return digits
    if re.fullmatch(r"0\d{2,3}[- ]\d{7,8}", token):
        return digits
    return None


def _amount_key(token: str) -> tuple:
    t = token.replace(",", "")
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", t)]
    if not nums:
        nums = [_cn_number(re.sub(r"(万元|元|块钱).*", "", t))]
    if "万元" in t:
        nums = [n * 10000 for n in nums]
    return (min(nums), max(nums))


def _duration_key(m: re.Match) -> tuple:
    if m.group(4):
        lo = hi = _cn_number(m.group(4))
        unit = m.group(5)
    else:
        lo, hi, unit = float(m.group(1)), float(m.group(2) or m.group(1)), m.group(3)
    mult, base = _UNIT[unit]
    return (lo * mult, hi * mult, base)


@dataclass(frozen=True)
class _Value:
    kind: str
    start: int
    end: int
    key: tuple


@lru_cache(maxsize=8192)
def _values(text: str) -> tuple[_Value, ...]:
    """Every phone number, date, price, percentage and duration in a normalized text."""
    found: list[_Value] = []
    for m in _PHONE.finditer(text):
        key = _phone_key(m.group(0), text)
        if key:
            found.append(_Value("phone", m.start(), m.end(), (key,)))
    kinds = (
        ("date", _DATE, lambda m: tuple(int(x) for x in re.findall(r"\d+", m.group(0)))),
        ("price", _PRICE, lambda m: _amount_key(m.group(0))),
        ("percent", _PERCENT, lambda m: _amount_key(m.group(0))),
        ("duration", _DURATION, _duration_key),
    )
    for kind, pattern, key in kinds:
        for m in pattern.finditer(text):
            s, e = m.span()
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s and all(e <= v.start or s >= v.end for v in found):
                found.append(_Value(kind, s, e, key(m)))
    return tuple(sorted(found, key=lambda v: v.start))


def _differ(kind: str, a: tuple, b: tuple) -> bool:
    """Whether two values of one kind disagree; a range that holds the other value does not."""
    if a == b:
        return False
    if kind == "duration" and a[2] != b[2]:
        return False  # 30天 and 1个月 cannot be compared without guessing
    if kind in ("duration", "price", "percent"):
        return not (a[0] <= b[0] <= b[1] <= a[1] or b[0] <= a[0] <= a[1] <= b[1])
    if kind == "date":
        n = min(len(a), len(b))
        return a[:n] != b[:n]  # "2024年" does not contradict "2024年3月"
    return True


# --- subject words --------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Particles, function words, hedges and the words our documents use to attribute a source.
_STOP = _wordset(
    """的 地 得 了 着 过 是 为 在 和 与 及 以及 或 或者 等 等等 也 都 就 还 又 再 可 可以 能 能够
    会 将 需 需要 要 应 应当 请 您 你 我 我们 你们 他们 它 其 该 此 这 那 这些 那些 个 对 于
    对于 按 按照 由 从 自 起 内 以内 之内 以上 以下 之后 后 前 时 时候 中 上 下 里 一般 通常
    大约 约 左右 最多 最长 最高 最低 最少 至少 不 不会 不超过 超过 每 每次 一次 次 均 仅 只 即
    则 如 若 如果 并 且 而 但 但是 所以 因此 有 没有 无 被 把 让 给 向 到 去 来 用 进行 提供
    享受 享有 支持 包括 其中 另外 此外 注意 一文 该文 文中 资料 据 称 提到 写 写明 写道 介绍 说
    说法 表示 规定 为准 具体 实际 最新 准确 详细 现行 当前 目前 官方 一下 多少 什么 哪些 哪个
    怎么 怎样 如何 吗 呢 吧 啊 呀 么 嘛 几 是否 能否 可否 所有 全部 一些 之 所 其他 相关 以 已
    已经 正常 一样 相同 同一 统一 直接 另 一 该 个人 用户 客户 顾客 情况 方面 方式 通过 一篇
    两篇 攻略 作为 您好 谢谢 一共 总共 共 大概 之日 之日起 左右 之间"""
)
# Words that only name the kind of value: they say nothing about whose value it is.
_GENERIC = {
    "phone": _wordset("电话 号码 热线 拨打 致电 联系 电话号码 联系电话 手机号 号 打"),
    "duration": _wordset("时间 时长 期限 期 周期 多久 多长时间 时效 天数 长 多长 长短"),
    "price": _wordset("价格 价 费用 收费 售价 报价 金额 价钱 多少钱 钱 元 标准 收取 支付 费"),
    "percent": _wordset("比例 比率 占比 百分比 率"),
    "date": _wordset("日期 时间 截止 截至 哪天 号"),
}
_CANON = {
    "保修期": "保修",
    "质保": "保修",
    "质保期": "保修",
    "保修期限": "保修",
    "保修时间": "保修",
}
# What a customer's question holds when it asks for a value of the kind.
_ASK = {
    "phone": ("电话", "热线", "号码", "客服电话", "hotline", "phone"),
    "duration": ("多久", "多长时间", "几天", "几年", "几个月"),
    "price": ("多少钱", "价格", "费用", "收费"),
    "percent": ("比例", "百分之"),
    "date": ("什么时候", "哪天", "日期"),
}


# A cited article's title (《售后服务与投诉处理全攻略》) names no subject or role.
_TITLE = re.compile(r"《[^》]*》")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


@lru_cache(maxsize=16384)
def _words(text: str) -> tuple[tuple[str, str], ...]:
    """Content words of a text with its values blanked: (canonical, as written) pairs."""
    for v in reversed(_values(text)):
        text = text[: v.start] + " " + text[v.end :]
    text = _TITLE.sub(" ", text)
    out = []
    for w in _jieba().lcut(text):
        w = w.strip()
        low = w.lower()
        if low and low not in _STOP and re.search(r"[\u4e00-\u9fffa-z]", low):
            out.append((_CANON.get(low, low), w))
    return tuple(out)


def _content(text: str, kind: str) -> list[str]:
    return [c for c, _ in _words(text) if c not in _GENERIC[kind]]


@lru_cache(maxsize=1)
def _tags() -> dict[str, str]:
    """jieba's part-of-speech tag for each word of its dictionary."""
    _jieba()
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


def _thing(word: str) -> bool:
    """Whether a word names a thing: a noun or attribute in jieba's dictionary, or a Latin
    name (HEPA, S2); words jieba does not know may be fragments ("能保") and do not count."""
    if word.isascii():
        return True
    tag = _tags().get(word, "")
    return tag[:1] == "n" or tag in ("b", "eng", "j", "l", "vn")


def _like(a: str, b: str) -> bool:
    """Equal words, or one holds the other (扫地机 / 扫地机器人, 净化器 / 空气净化器)."""
    return a == b or (min(len(a), len(b)) >= 2 and (a in b or b in a))


# --- statements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stmt:
    """One value as stated, with the words that say what it is the value of."""

    unit: _Unit
    kind: str
    value: str  # as written
    key: tuple
    words: tuple[str, ...]  # the subject: words before the value in its clause (or after it)
    head: str  # the subject word nearest the value
    near: frozenset[str]  # every word around: clause, heading or question, the row's cells
    around: str  # that text itself, for substring matches
    role: str  # phones: "main" for the customer-service hotline, else ""
    label: str  # the subject as written, for people


_CLAUSE = re.compile(r"[^,;、!?。]+")
_MAIN_ROLE = re.compile(
    r"客服热线|服务热线|售后热线|全国热线|售后电话|客服电话|服务电话|官方热线|热线电话|咨询热线"
    r"|售后服务电话|客服中心电话|热线号码|客服号码|售后号码|customer service|hotline|热线|客服",
    re.I,
)
# A complaint line, a region's, a centre's or a person's number is not the hotline.
_OTHER_ROLE = re.compile(
    r"投诉|专线|银发|老年|物流|传真|举报|监督|加盟|招商|销售|订购|商务|媒体|海外|国际|境外|大客户"
    r"|企业|回访|总部|门店|网点|服务中心|维修点|维修站|分公司|办事处|经销商|代理|联系人|个人"
    r"|地区|[省市县]"
)


def _role(parts: Sequence[str]) -> str:
    for part in (_TITLE.sub(" ", p) for p in parts):
        if _OTHER_ROLE.search(part):
            return ""
        if _MAIN_ROLE.search(part):
            return "main"
    return ""


def _cells(text: str) -> list[tuple[int, int, int]]:
    """(cell start, value start, cell end) for each "列名:值" (or bare value) cell of a row."""
    cells, start = [], 0
    for part in text.split(";"):
        name = _CELL_NAME.match(part)
        cells.append((start, start + (name.end() if name else 0), start + len(part)))
        start += len(part) + 1
    return cells


def _clause_at(text: str, start: int, end: int, at: int) -> tuple[int, int]:
    """The clause of text[start:end] that holds position `at`."""
    for m in _CLAUSE.finditer(text, start, end):
        if m.start() <= at < m.end():
            return m.span()
    return start, end


# A column that gives the unit ("收费(元)", "保修期(月)"): its cells hold bare numbers.
_HEADER_UNIT = re.compile(r"[(\[【]\s*(元|%|天|日|个月|月|年|小时|工作日)\s*[)\]】]")
_BARE = re.compile(rf"\s*({_AMOUNT})(?:\s*-\s*({_AMOUNT}))?\s*")


def _cell_values(text: str, cells: list[tuple[int, int, int]]) -> list[_Value]:
    out = []
    for c in cells:
        unit = _HEADER_UNIT.search(text[c[0] : c[1]])
        bare = _BARE.fullmatch(text, c[1], c[2])
        if not (unit and bare):
            continue
        lo, hi = (
            float(bare.group(1).replace(",", "")),
            float((bare.group(2) or bare.group(1)).replace(",", "")),
        )
        name = unit.group(1)
        if name == "元":
            kind, key = "price", (lo, hi)
        elif name == "%":
            kind, key = "percent", (lo, hi)
        else:
            mult, base = _UNIT["个月" if name == "月" else name]
            kind, key = "duration", (lo * mult, hi * mult, base)
        s, e = bare.span(1)[0], (bare.span(2) if bare.group(2) else bare.span(1))[1]
        out.append(_Value(kind, s, e, key))
    return out


def _statements(unit: _Unit) -> list[_Stmt]:
    cells = _cells(unit.text) if unit.row else []
    values = _values(unit.text)
    if cells:
        extra = _cell_values(unit.text, cells)
        values = tuple(sorted((*values, *extra), key=lambda v: v.start))
    if not values:
        return []
    out = []
    clauses = [m.span() for m in _CLAUSE.finditer(unit.text)]
    context_phones = [v for v in _values(unit.context) if v.kind == "phone"]
    for i, v in enumerate(values):
        if unit.row:
            cell = next((c for c in cells if c[0] <= v.start < c[2]), None)
            if cell is None:
                continue
            # The cells left of the value and the words before it in its cell ("整机1年,电池6个月")
            # name the thing; its own column names the attribute, nearest the value.
            left = [unit.text[c[1] : c[2]] for c in cells if c[2] <= cell[0]]
            cs, ce = _clause_at(unit.text, cell[1], cell[2], v.start)
            start = max([w.end for w in values[:i] if w.end > cs] + [cs])
            end = min([w.start for w in values[i + 1 :] if w.start < ce] + [ce])
            column = _HEADER_UNIT.sub("", unit.text[cell[0] : cell[1]]).rstrip(": ")
            pre = " ".join([*left, unit.text[start : v.start], column])
            post = unit.text[v.end : end]
            # Every other cell's value counts as around it ("适用:空气净化器"); column names do not.
            right = [unit.text[c[1] : c[2]] for c in cells if c[0] > cell[0]]
            clause = " ".join([*left, column, unit.text[cs:ce], *right])
        else:
            cs, ce = next(((s, e) for s, e in clauses if s <= v.start < e), (0, len(unit.text)))
            start = max([w.end for w in values[:i] if w.end > cs] + [cs])
            end = min([w.start for w in values[i + 1 :] if w.start < ce] + [ce])
            pre, post, clause = unit.text[start : v.start], unit.text[v.end : end], unit.text[cs:ce]
        before, after = _content(pre, v.kind), _content(post, v.kind)
        # Outside the value's own words only things count: a question's "能保" or "坏了" is no
        # subject, and would set apart two statements about the same battery.
        asked = _content(unit.context, v.kind)
        context = [w for w in asked if _thing(w)]
        around = [w for w in _content(clause, v.kind) if unit.row or _thing(w)]
        role = ""
        if v.kind == "phone":
            # A heading that names another number is about that number, not this one.
            same = not context_phones or any(p.key == v.key for p in context_phones)
            role = _role([pre, unit.context if same else "", post])
        primary = before or after or asked  # "6个月。" answers its question
        if not primary and not role:
            continue
        head = (primary[-1] if before or not after else primary[0]) if primary else ""
        words = list(dict.fromkeys(primary))
        if len(words) < 2:  # too thin to name a subject alone: the heading or question helps
            words = list(dict.fromkeys([*context, *words]))
        out.append(
            _Stmt(
                unit=unit,
                kind=v.kind,
                value=unit.written(v.start, v.end),
                key=v.key,
                words=tuple(words),
                head=head,
                near=frozenset([*before, *after, *context, *around]),
                around=clause + " " + unit.context,
                role=role,
                label=_phrase(pre if before else post if after else _unasked(unit.context)),
            )
        )
    return out


def _covers(s: _Stmt, word: str) -> bool:
    return word in s.around.lower() or any(_like(word, w) for w in s.near)


def _same_subject(a: _Stmt, b: _Stmt) -> bool:
    """Whether two statements give a value for the same thing (see the module docstring)."""
    if a.kind == "phone" and (a.role or b.role):
        return a.role == b.role == "main"  # numbers of the same role are the classic conflict
    if not _like(a.head, b.head) or len(a.words) < 2 or len(b.words) < 2:
        return False
    matched = min(sum(_covers(b, w) for w in a.words), sum(_covers(a, w) for w in b.words))
    if matched / (len(a.words) + len(b.words) - matched) < 0.6:
        return False
    # A word on each side that the other lacks (电池 / 电机, 主刷 / 边刷, 扫地机 / 净化器) sets
    # them apart; a word on one side only is a detail the other leaves out.
    return not (any(not _covers(b, w) for w in a.near) and any(not _covers(a, w) for w in b.near))


def _brands_meet(a: str, b: str) -> bool:
    return a == b or GENERAL in (a, b)


# --- conflicts ------------------------------------------------------------------------------------


def _conflicts(statements: list[_Stmt]) -> list[Conflict]:
    parent = list(range(len(statements)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_kind: dict[str, list[int]] = {}
    by_doc: dict[tuple[str, str], list[_Stmt]] = {}
    for i, s in enumerate(statements):
        by_kind.setdefault(s.kind, []).append(i)
        by_doc.setdefault((s.kind, s.unit.doc), []).append(s)

    def also_says(doc: str, s: _Stmt) -> bool:
        # A document that gives the other's value too (two hotlines, one of them shared) only
        # says more; it does not contradict.
        return any(
            not _differ(s.kind, t.key, s.key) and _same_subject(t, s) for t in by_doc[(s.kind, doc)]
        )

    linked: set[int] = set()
    for idx in by_kind.values():
        for n, i in enumerate(idx):
            a = statements[i]
            for j in idx[n + 1 :]:
                b = statements[j]
                if (
                    a.unit.doc != b.unit.doc
                    and _brands_meet(a.unit.brand, b.unit.brand)
                    and _differ(a.kind, a.key, b.key)
                    and _same_subject(a, b)
                    and not also_says(b.unit.doc, a)
                    and not also_says(a.unit.doc, b)
                ):
                    parent[root(i)] = root(j)
                    linked |= {i, j}
    groups: dict[int, list[_Stmt]] = {}
    for i in sorted(linked):
        groups.setdefault(root(i), []).append(statements[i])
    out: list[Conflict] = []
    ids: set[str] = set()
    for members in groups.values():
        for part in _per_brand(members):
            c = _conflict(part, ids)
            if c is not None:
                out.append(c)
    return out


def _per_brand(members: list[_Stmt]) -> list[list[_Stmt]]:
    """General statements meet every product's; two products' own values never meet."""
    brands = list(dict.fromkeys(s.unit.brand for s in members if s.unit.brand != GENERAL))
    if len(brands) < 2:
        return [members]
    return [[s for s in members if s.unit.brand in (b, GENERAL)] for b in brands]


def _conflict(members: list[_Stmt], ids: set[str]) -> Conflict | None:
    values: dict[tuple, _Stmt] = {}
    for s in members:
        values.setdefault(s.key, s)
    if len(values) < 2 or len({s.unit.doc for s in members}) < 2:
        return None
    chosen = list(values.values())
    brands = {s.unit.brand for s in members}
    kind = chosen[0].kind
    subject = _subject(members)
    values_docs = [
        *sorted(normalize(s.value) for s in chosen),
        *sorted({s.unit.doc for s in chosen}),
    ]
    digest = "|".join([kind, ",".join(sorted(brands)), *values_docs])
    base = cid = f"{AUTO}{kind}-{hashlib.sha1(digest.encode()).hexdigest()[:10]}"
    n = 2
    while cid in ids:  # the same values in the same documents for two subjects
        cid, n = f"{base}-{n}", n + 1
    ids.add(cid)
    if all(s.role == "main" for s in members):
        keywords = [m.group(0) for s in members for m in _MAIN_ROLE.finditer(s.around)]
        keywords += ["客服电话", "售后电话"]
    else:
        words = [w for s in members for w in s.words]
        written = {c: w for s in members for c, w in _words(s.around)}
        keywords = [written.get(w, w) for w in dict.fromkeys(words) if len(w) >= 2 or w.isascii()]
    keywords += _ASK[kind]
    return Conflict(
        id=cid,
        kind="conflict",
        brand=brands.pop() if len(brands) == 1 else GENERAL,
        topic=members[0].unit.topic,
        subject=subject,
        keywords=tuple(dict.fromkeys(keywords)),
        values=tuple(ConflictValue(s.value, s.unit.source, s.unit.doc) for s in chosen),
    )


def _subject(members: list[_Stmt]) -> str:
    """A short Chinese name for what the values are of, from the richest statement's words."""
    if all(s.role == "main" for s in members):
        return "客服热线号码"
    best = max(members, key=lambda s: (len(s.words), len(s.label)))
    return best.label or _join(best.words)


def _join(words: Iterable[str]) -> str:
    """Words run together as Chinese is written, with spaces only beside Latin words."""
    out = ""
    for w in words:
        out += (" " if out and (out[-1].isascii() or w[0].isascii()) else "") + w
    return out


def _known_conflict(c: Conflict, known: Sequence[Conflict]) -> bool:
    """A hand-written conflict already gives one of the values (or holds it, for its documents)."""
    mine = {normalize(v.value) for v in c.values}
    for k in known:
        if k.kind != "conflict" or not _brands_meet(k.brand, c.brand):
            continue
        theirs = [normalize(v.value) for v in k.values]
        if mine & set(theirs):
            return True
        if k.docs & c.docs and any(m in t for m in mine for t in theirs):
            return True
    return False


# --- missing values -------------------------------------------------------------------------------

_CHANNELS = r"官网|官方|网站|网点|门店|服务中心|说明书|保修卡|客服|页面|app|公众号|公告|报价|通知"
_POINTER = re.compile(
    rf"以(?P<by>[^,。;!?]{{0,40}}?(?:{_CHANNELS})[^,。;!?]{{0,20}}?)为准"
    r"|(?P<see>详见|请见|参见|参阅|见)"
    r"(?P<what>官网|官方网站|产品说明书|使用说明书|说明书|保修卡|公告)"
    r"|(?P<ask>请咨询|可咨询|请联系|请致电|咨询|致电)"
    r"(?P<whom>在线客服|人工客服|客服|当地服务网点|服务网点|门店)",
    re.I,
)
# Sentences that weigh two sources against each other: their "为准" is advice, not a gap.
_HEDGE = re.compile(r"哪个|哪一个|无法确认|不一致|说法不同|相互矛盾|矛盾|另一篇|两份资料")
_EXPECT = (
    ("email", re.compile(r"邮箱|邮件|e-?mail|mail", re.I)),
    ("phone", re.compile(r"电话|热线|号码|专线|手机号")),
    (
        "price",
        re.compile(r"(?<!免)(?<!消)(?<!付)费|价格|价钱|收费|报价|多少钱|加价|加收|金额|售价|资费"),
    ),
    ("duration", re.compile(r"时长|多久|期限|时效|周期|保修期|质保期")),
    ("time", re.compile(r"时间|几点|营业|时段")),
    ("date", re.compile(r"日期|截止|截至|哪天")),
    ("count", re.compile(r"数量|多少家|几家|个数")),
)
_WHAT = {
    "email": "地址",
    "phone": "号码",
    "price": "金额",
    "duration": "时长",
    "time": "时间",
    "date": "日期",
    "count": "数字",
}
_ASK_MISSING = {
    "email": ("邮箱", "邮件", "电子邮件", "email"),
    "phone": ("电话", "热线", "号码", "客服电话"),
}


def _has_value(text: str, kind: str) -> bool:
    if kind == "email":
        return bool(_EMAIL.search(text))
    if kind == "count":
        return bool(re.search(r"\d", text))
    kinds = {v.kind for v in _values(text)}
    if kind == "price":
        return "price" in kinds or "免费" in text
    if kind == "time":
        return "duration" in kinds or bool(_CLOCK.search(text))
    return kind in kinds


def _missing(units: list[_Unit], statements: list[_Stmt]) -> list[Conflict]:
    out: list[Conflict] = []
    seen: set[tuple] = set()
    by_group: dict[int, list[_Unit]] = {}
    for u in units:
        by_group.setdefault(u.group, []).append(u)
    for u in units:
        m = _POINTER.search(u.text)
        if m is None or _HEDGE.search(u.text) or re.search(r"是否|能否|可否", u.text[: m.start()]):
            continue
        clauses = [c for c in re.split(r"[,;、]", u.text[: m.start()]) if c.strip()]
        phrase = _trim(clauses[-1]) if clauses else ""
        if not _words(phrase) and len(clauses) > 1:
            phrase = _trim(clauses[-2])  # "售后邮箱暂未开通,以官网公布为准"
        kind = next((k for k, rx in _EXPECT if rx.search(phrase)), None)
        if kind is None or _has_value(u.text, kind):
            continue
        specific = [c for c, _ in _words(phrase) if not _names_kind(c)]
        if _given(u, kind, specific, by_group, statements):
            continue
        subject = phrase if specific else _whose(u, kind, phrase, clauses[:-1])
        key = (u.doc, kind, tuple(sorted(specific)))
        if key in seen:
            continue
        seen.add(key)
        what = _WHAT[kind]
        ends = subject.endswith(what)
        out.append(
            Conflict(
                id=f"{AUTO}missing-"
                + hashlib.sha1(f"{u.doc}|{kind}|{subject}".encode()).hexdigest()[:10],
                kind="missing",
                brand=u.brand,
                topic=u.topic,
                subject=subject,
                keywords=_missing_keywords(u, kind, subject, statements),
                doc=u.doc,
                source=(u.source,),
                note=f"资料没有给出{subject}。" if ends else f"资料没有给出{subject}的具体{what}。",
                how_to_find=_how_to_find(u, m),
            )
        )
    return out


def _whose(u: _Unit, kind: str, phrase: str, earlier: list[str]) -> str:
    """The subject of a bare pointer ("具体金额以网点报价为准"): the heading or question, with
    the item an earlier clause names ("偏远地区上门" + "附加费")."""
    rx = dict(_EXPECT)[kind]
    item = next(
        (w for c in reversed(earlier) for _, w in reversed(_words(c)) if rx.search(w)), phrase
    )
    heading = _phrase(_unasked(re.sub(r"\(.*?\)|:.*$", "", u.context)))
    if any(not _names_kind(c) for c, _ in _words(heading)):
        return heading if item in heading else heading + item
    last = _trim(earlier[-1]) if earlier else ""
    return _phrase(last) if any(not _names_kind(c) for c, _ in _words(last)) else phrase


def _names_kind(word: str) -> bool:
    return any(rx.fullmatch(word) for _, rx in _EXPECT)


def _unasked(question: str) -> str:
    """A question without the words that ask ("电池保修多久?" -> "电池保修")."""
    return _ASKING.sub(" ", question)


_ASKING = re.compile(
    r"多长时间|多久|多长|几个月|几年|几天|几号|多少钱|多少|什么时候|哪天|怎么|吗|呢|\?"
)


def _phrase(text: str) -> str:
    """A text's content words run together again, as a short subject."""
    return _join(w for _, w in _words(text))


def _trim(phrase: str) -> str:
    """The pointer's subject without hedges or particles around it ("具体价格请" -> "价格")."""
    phrase = re.sub(r"^.*[:]", "", phrase)
    phrase = re.sub(r"^资料[里中]?(?:没有|未)(?:写明|给出|提供|说明)", "", phrase.strip())
    phrase = phrase.replace("的具体", "的")
    phrase = re.sub(
        r"^(?:具体|实际|最新|准确|详细|另外|此外|其中|注意|目前|但|而)+", "", phrase.strip()
    )
    return re.sub(r"(?:请|均|需|应|将|会|可|一律|统一|要|则|以|的|都|具体)+$", "", phrase).strip()


def _given(
    u: _Unit,
    kind: str,
    specific: list[str],
    by_group: dict[int, list[_Unit]],
    statements: list[_Stmt],
) -> bool:
    """Whether the value is given after all: near the pointer for a bare "价格以官网为准",
    anywhere in the corpus for a value of the same thing."""
    if not specific:
        return any(_has_value(x.text, kind) for x in by_group[u.group])
    if kind in ("phone", "price", "duration", "date"):
        return any(
            s.kind == kind
            and _brands_meet(s.unit.brand, u.brand)
            and all(any(_like(w, x) for x in s.words) or w in s.around for w in specific)
            for s in statements
        )
    # E-mail addresses, clock times and counts are not statements: look in the sentences.
    return any(
        _brands_meet(x.brand, u.brand)
        and _has_value(x.text, kind)
        and all(w in (x.text + x.context).lower() for w in specific)
        for group in by_group.values()
        for x in group
    )


def _missing_keywords(u: _Unit, kind: str, phrase: str, statements: list[_Stmt]) -> tuple[str, ...]:
    """The words of a question about the missing value. Words shared with values the same
    document does give (上门 in 上门检测费) or with every after-sales question (售后) would fire
    the note on questions about something else."""
    given = {w for s in statements if s.unit.doc == u.doc and s.kind == kind for w in s.words}
    given |= _EVERYWHERE
    words = []
    for c, w in _words(phrase):
        if c in given or _names_kind(c) or (len(w) < 2 and not w.isascii()):
            continue
        words.append(w)
        if len(w) >= 4:  # 偏远地区 -> 偏远
            parts = _jieba().lcut_for_search(w)
            words += [p for p in parts if len(p) >= 2 and p not in given and p not in _STOP]
    if len(phrase) <= 8:
        words.append(phrase)
    return tuple(dict.fromkeys([*words, *_ASK_MISSING.get(kind, ())]))


# Words nearly every customer question holds: a note keyed on them would fire on all of them.
_EVERYWHERE = frozenset(
    ["售后", "客服", "服务", "官方", "官网", "产品", "公司", "品牌", "地区", "问题", "咨询", "联系"]
)


def _how_to_find(u: _Unit, m: re.Match) -> str:
    """The source's own pointer, as advice; it never names a channel the source does not."""
    if m.group("by"):
        s, e = m.span("by")
        by = u.written(s, e).strip()
        if re.search(r"(公布|公示|发布|显示|通知|公告)的?$", by):
            by = by.removesuffix("的")
            return f"请以{by}的信息为准。"
        return f"请以{by}为准。"
    if m.group("see"):
        return f"请查看{u.written(*m.span('what'))}。"
    return f"请{m.group('ask').lstrip('请可')}{u.written(*m.span('whom'))}。"


def _known_missing(c: Conflict, known: Sequence[Conflict]) -> bool:
    mine = {k.lower() for k in c.keywords}
    return any(
        k.kind == "missing" and k.doc == c.doc and mine & {w.lower() for w in k.keywords}
        for k in known
    )
