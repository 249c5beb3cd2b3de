"""Expected answer type: a question asking for a phone number, a price, a duration or opening
hours is answered by a passage that states one.

Fused retrieval ranks by topic; "边刷一对多钱" ranks the warranty row for 边刷 as high as the price
row. When the top hit holds no value of the kind asked for and a close runner-up that is about
the same parts and products does (from a little below the top hits, too: "售后电话" shares no
word with "服务热线:400-…"), the runner-up goes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.types import Hit

# (what the question asks for, what a passage stating it contains)
_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        # "电话打不通", "除了打电话": about calling, not asking for the number
        re.compile(
            r"(?<!打)(?:电话|热线|号码)(?!.{0,4}(?:打不通|没人接|占线|不通))|"
            r"hotline|phone number|number to call",
            re.I,
        ),
        re.compile(
            r"(?<!\d)(?:400|800|95\d)[-\s]?\d{3,4}[-\s]?\d{3,4}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)"
        ),
    ),
    (
        # asking for the amount ("收费吗", "多少钱"), not talking about fees ("乱收费怎么办")
        re.compile(
            r"多少钱|多钱|几块|价格(?!一样|相同|统一|不同|有区别|差不多|.{0,2}(?:在哪|哪里|哪儿|怎么查|查询|公示))|价钱|(收费|费用|收钱|要钱|花钱|付费)(是|大概|一般)?(多少|几|吗|么|不)|"
            r"收不收|免费吗|how much|\bcost\b|\bprice\b|"
            # "滤网换一个要多少": a bare 多少 after buying or replacing asks the price
            r"(换|买|配)[^,,。??]{0,4}多少(?=\s*(?:[??!!。,,]|$|呢|啊|呀))",
            re.I,
        ),
        re.compile(r"\d+(?:\.\d+)?\s*(?:元|块)|[¥￥]\s*\d|免费|不收费|free", re.I),
    ),
    (
        re.compile(r"几点|营业时间|上班|下班|服务时间|opening hours|what time", re.I),
        re.compile(r"\d{1,2}[::]\d{2}|7\s*[×x]\s*24"),
    ),
    (
        # "好几天了还不发货" tells how long it has been; it does not ask.
        re.compile(r"多久|多长时间|(?<!好)几天|(?<!好)几年|(?<!好)几个月|how long", re.I),
        re.compile(r"\d+\s*(?:年|个月|天|小时|分钟|个?工作日)|半年|一年|不保修", re.I),
    ),
)
# A passage that says the knowledge lacks a value answers a question asking for it, honestly.
_SAYS_MISSING = re.compile(
    r"(没有|未|并未|不曾)(给出|写明|列出|提供|公布|说明|注明|提到)|不能报|查不到|无法确认"
)
RUNNER_UP = 20  # how far down the ranked candidates (all of them, at the default candidate_k)


def asked_types(question: str) -> list[re.Pattern[str]]:
    """The value patterns a question asks for (none for most questions)."""
    return [value for asks, value in _TYPES if asks.search(question)]


def addresses(question: str, text: str) -> int:
    """How well `text` answers the kind of value `question` asks for: 2 gives it (or the
    question asks for none), 1 says the knowledge lacks it, 0 neither."""
    wanted = asked_types(question)
    if not wanted or any(p.search(text) for p in wanted):
        return 2
    return 1 if _SAYS_MISSING.search(text) else 0


def prefer_stated(question: str, hits: list[Hit], same_subject: Callable[[Hit], bool]) -> list[Hit]:
    """`hits` with the first passage stating the asked-for value moved to the top, when the top
    hit states none and that passage is about the question's subject."""
    wanted = asked_types(question)
    if not wanted or not hits:
        return hits

    def states(hit: Hit) -> bool:
        return any(p.search(hit.chunk.text) for p in wanted)

    if states(hits[0]):
        return hits
    for i, hit in enumerate(hits[1:RUNNER_UP], 1):
        if states(hit) and same_subject(hit):
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


NARROW_WINDOW = 5  # how far down a passage about the whole subject may come from


def prefer_whole(hits: list[Hit], narrow: Callable[[Hit], bool], same_subject) -> list[Hit]:
    """`hits` with the first passage about the question's whole subject moved to the top, when
    the top hit is about one part the question does not name ("扫地机保修多久" and the battery
    FAQ, ahead of the 整机 row)."""
    if not hits or not narrow(hits[0]):
        return hits
    for i, hit in enumerate(hits[1:NARROW_WINDOW], 1):
        if not narrow(hit) and same_subject(hit):
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits
