"""Cheap, model-free reading of a question: language, product, and what kind of turn it is.

Nothing here names a company: the products and the words that name them come from the company
profile, and what counts as "our subject" also from the knowledge's own vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.profile import Profile

_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Only a short question is read for things the knowledge lacks: every noun of one is asked about.
_UNKNOWN_MAX_CHARS = 24
# A word starting with one of these is a verb phrase jieba took for a noun ("能派", "能装").
_MODAL = frozenset("能会要可想该得让把被将再还")
# Words and ids that belong to no language: a reply of "ok" or "KF-7Q2M9X" is said in either.
# Model names ("a96", "reno10", "find x5") say no language either.
_ID_LIKE = re.compile(r"\b[a-z]{1,4}-[a-z0-9]{4,}\b|\b[a-z]*\d[a-z0-9]*\b|\d+")
_NEUTRAL = re.compile(r"\b(?:ok|okay|yes|no|yep|nope|hi|hello|thanks|thx|y|n)\b")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[a-z]{2,}")  # of a lower-cased text
# Topics whose answer differs by brand: asking without a brand needs a clarifying question.
_BRAND_SENSITIVE = re.compile(
    r"客服电话|售后电话|服务电话|热线|电话多少|电话是多少|号码|保修多久|保修期|保修几年|质保|"
    r"hotline|phone number|warranty",
    re.I,
)
# Well-known consumer-electronics and appliance brands: a question about one of them is not ours,
# unless the profile names it as ours (then it is removed from this list).
_OTHER_BRAND_WORDS = (
    "华为|小米|vivo|苹果|iphone|三星|荣耀|魅族|realme|美的|格力|海尔|欧普|雷士|海信|"
    "创维|长虹|松下|西门子|博世|飞利浦|戴森|dyson|科沃斯|追觅|云鲸|九阳|苏泊尔|方太|万和|万家乐|"
    "沁园|安吉尔|huawei|xiaomi|samsung|apple|honor|haier|midea|gree|philips|panasonic|siemens|bosch"
)
_DOMAIN = re.compile(
    r"售后|售後|维修|修|保修|保休|质保|客服|电话|热线|投诉|换新|以旧换新|电池|屏幕|屏|充电|网点|服务|费用|收费|"
    r"价格|多少钱|工单|报修|安装|配件|检测|退|赔|官方|外包|授权|直营|骗|诈骗|翻新|渠道|人工|联系|"
    r"进度|上门|升级|系统|故障|坏|碎|鼓包|漏电|漏水|滤芯|耗材|"
    r"repair|warranty|service|hotline|phone|complain|battery|screen|refund|fee|price|support|center|"
    r"centre|contact|channel|trade-in|call|order|ship|deliver|e-?mail|hours|open|free|cost|fix|broken|crack|"
    r"replace|store|shop|outsourc|authori[sz]|fake|scam|heater|install|respond|resolve",
    re.I,
)
# Subjects no after-sales answer covers, however close a price or "多少钱" FAQ scores.
_OFF_TOPIC = re.compile(
    r"比特币|以太坊|虚拟币|加密货币|股票|股价|炒股|基金|理财|彩票|汇率|外汇|黄金价格|天气|气温|"
    r"写(一)?首诗|作诗|写诗|菜谱|食谱|星座|算命|bitcoin|crypto|stock (price|tip)|weather|lottery|"
    r"exchange rate|horoscope|recipe|poem|"
    # programming requests: "故障代码" is on topic, "写个爬虫" is not
    r"爬虫|编程|写(一)?(个|段)?(程序|脚本|代码)|python|javascript|\bsql\b|write (a |some )?(code|script|program)",
    re.I,
)
# A whole turn that is only a greeting, thanks, goodbye or acknowledgement ("好的谢谢", "在吗",
# "ok thanks"): it asks nothing, so it gets a friendly line and never counts as unresolved.
_SMALL_TALK_KINDS = (
    ("thanks", r"谢谢|多谢|感谢|谢啦|谢了|thanks?|thank you|thx|ty|辛苦了?"),
    ("bye", r"再见|拜拜|bye|goodbye|see you"),
    ("greet", r"你好|您好|哈喽|嗨|在吗|在不在|有人吗|hi|hello|hey|早上好|下午好|晚上好"),
    (
        "ack",
        r"好的?|好吧|嗯+|哦+|ok|okay|行|可以|知道了|明白了?|了解了?|收到|没事了|没问题了?|懂了",
    ),
)
_SMALL_TALK_WORD = "|".join(p for _, p in _SMALL_TALK_KINDS)
_SMALL_TALK = re.compile(
    rf"^(?:(?:{_SMALL_TALK_WORD})(?:\s*(?:啊|呀|啦|哈|了|呢|哦|喔|吧|的|您|你|你们|so much|a lot|there|all))*"
    r"[\s,.!?~\u3001\u3002\uff01\uff0c\uff1f\uff5e\u2026😊🙏👍]*)+$",
    re.I,
)


def small_talk(text: str) -> str | None:
    """The kind of small talk a whole turn is ("thanks", "bye", "greet", "ack"), else None;
    with several, the most telling one ("好的谢谢" thanks)."""
    t = text.strip()
    if not t or len(t) > 30 or not _SMALL_TALK.match(t):
        return None
    low = t.lower()
    return next(kind for kind, p in _SMALL_TALK_KINDS if re.search(rf"(?:{p})", low, re.I))


_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# Words that carry no content of their own when deciding whether a question names its subject.
_FILLER = re.compile(
    r"请问|你好|您好|客服|售后|多少|是多少|什么|怎么|吗|呢|啊|呀|的|我|想|问|一下|知道|please|what|is|the|how|long",
    re.I,
)
_FOLLOWUP = re.compile(
    r"^(那|那么|还有|另外|然后|再问|如果是|换成|what about|and |how about)", re.I
)
# A short turn without a follow-up word continues the topic only if it still asks about
# something ours ("要多久内报修?"); "帮我写一首诗" is a new, out-of-scope question.
_SHORT_ASK = re.compile(r"多久|多长|多少|几|怎么|哪|吗|呢|how long|how much|where", re.I)


@dataclass(frozen=True)
class Reading:
    text: str
    lang: str  # "zh" | "en"
    brand: str | None
    brand_hint: str | None
    brand_sensitive: bool
    several: bool  # the company has more than one product: a bare question may need asking back
    other_brand: bool
    in_domain: bool
    off_topic: bool
    followup: bool
    small_talk: str | None
    residual_chars: int  # Chinese/Latin characters left once brand-sensitive words are removed


@lru_cache(maxsize=1)
def _t2s():
    """OpenCC's traditional-to-simplified converter, loaded on the first Chinese turn."""
    import opencc  # about 10 ms with its dictionaries: kept out of `import bot`

    return opencc.OpenCC("t2s.json").convert


def simplified(text: str) -> str:
    """The text in simplified characters ("電池續航" → "电池续航"): the knowledge, the
    patterns and the vocabulary are simplified; customers in Hong Kong and Taiwan are not."""
    return _t2s()(text) if _CJK.search(text) else text


def language(text: str) -> str:
    """English when the question has Latin letters and no Chinese characters."""
    return "en" if _LATIN.search(text) and not _CJK.search(text) else "zh"


def _brand_in(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    low = text.lower()
    found = [b for b, words in table.items() if any(w in low for w in words)]
    return found[0] if len(found) == 1 else None


# Parts and accessories of most devices: what a follow-up swaps ("那电池呢?" after "屏幕碎了…").
_PARTS = (
    "碎屏|屏幕|屏|电池|充电器|充电|数据线|进水|主板|摄像头|相机|扬声器|听筒|后盖|边框|系统|耳机|手表|平板|"
    "开关|遥控器|面板|电机|灯泡|滤芯|滤网|电源|插头|显示屏|按键|风扇|压缩机|水箱|整机|"
    "battery|screen|charger|camera|speaker|remote|filter|motor"
)
_WHOLE_PRODUCT = frozenset({"整机"})
_STATE = re.compile(r"碎了|坏了|裂了|进水了|鼓包了|不亮了?|失灵了?|broken|cracked")
# A word this common in general Chinese (jieba's dictionary counts) says nothing about the
# subject; the knowledge's rarer words ("滤芯", "主刷") do.
_COMMON_FREQ = 1500


@lru_cache(maxsize=1)
def _word_freq() -> dict[str, int]:
    from bot.index.sparse import _jieba

    jb = _jieba()
    jb.initialize()
    return jb.dt.FREQ


def subject_words(texts: Iterable[str]) -> frozenset[str]:
    """The knowledge's own vocabulary: words of two or more characters that ordinary Chinese
    uses rarely (product names, parts, consumables, service terms)."""
    from bot.index.sparse import _CJK_RUN, _LATIN_NUM, _jieba

    freq, jb = _word_freq(), _jieba()
    words: set[str] = set()
    for text in texts:
        low = text.lower()
        for run in _CJK_RUN.findall(low):
            words.update(w for w in jb.lcut(run) if len(w) >= 2 and freq.get(w, 0) < _COMMON_FREQ)
        words.update(w for w in _LATIN_NUM.findall(low) if len(w) >= 3 and w.isalpha())
    return frozenset(words)


class Reader:
    """Reads questions for one knowledge base: its products (profile) and its vocabulary."""

    def __init__(
        self,
        profile: Profile | None = None,
        vocabulary: Iterable[str] = (),
        texts: Iterable[str] = (),
    ):
        profile = profile or Profile()
        self.profile = profile
        self.brand_words = profile.brand_words()
        self.brand_hints = profile.hint_words()
        self.several = len(profile.products) > 1  # only then can a question be ambiguous
        ours = {w for ws in self.brand_words.values() for w in ws} | {profile.company.lower()}
        others = [w for w in _OTHER_BRAND_WORDS.split("|") if w.lower() not in ours]
        others += [w for w in profile.other_brands if w.lower() not in ours]
        self._others = re.compile("|".join(map(_word, others)), re.I) if others else None
        # "小米扫地机": a competitor's name right before one of our product words is the
        # competitor's product, even though the product word alone would be ours.
        nouns = [re.escape(w) for ws in self.brand_words.values() for w in ws if len(w) > 1]
        self._theirs = (
            re.compile(rf"(?:{self._others.pattern})(?:的|家|牌)?\s*(?:{'|'.join(nouns)})", re.I)
            if others and nouns
            else None
        )
        self.vocabulary = frozenset(vocabulary)
        self._named = frozenset(w for ws in self.brand_words.values() for w in ws) | frozenset(
            profile.other_brands
        )
        # Every pair of adjacent Chinese characters the knowledge holds: a noun in a question
        # with a pair outside it names something the knowledge never mentions.
        self._pairs = frozenset(
            run[i : i + 2]
            for t in texts
            for run in _CJK_RUN.findall(t)
            for i in range(len(run) - 1)
        )
        # What a follow-up can swap: a product for another, or a part for another.
        names = [re.escape(w) for ws in self.brand_words.values() for w in ws if len(w) > 1]
        parts = [re.escape(w) for ws in self.brand_hints.values() for w in ws if len(w) > 1]
        self._products = _alternation(names)
        self._names = tuple(w for ws in self.brand_words.values() for w in ws)
        self._parts = re.compile("|".join([*sorted(parts, key=len, reverse=True), _PARTS]), re.I)
        # English product names and aliases bring the product's Chinese name into retrieval.
        self._en_names = [
            (re.compile(rf"\b{re.escape(w)}s?\b", re.I), p.name)
            for p in profile.products
            for w in (p.name_en, *p.aliases)
            if w and w.isascii() and len(w) > 3
        ]

    def says_language(self, text: str) -> bool:
        """Whether a turn shows the customer's language: not a bare product name ("Qinghe"
        after "哪款产品?"), a ticket id, a number or "ok", which keep the conversation's."""
        low = _ID_LIKE.sub(" ", text.lower())
        for pattern, _ in self._en_names:
            low = pattern.sub(" ", low)
        for name in sorted(self._names, key=len, reverse=True):
            low = low.replace(name.lower(), " ")
        low = _NEUTRAL.sub(" ", low)
        return bool(_LATIN_WORD.search(low)) or len(_CJK.findall(low)) >= 2

    def _ours(self, text: str) -> bool:
        """The question uses the knowledge's own vocabulary."""
        if not self.vocabulary:
            return False
        return bool(subject_words([text]) & self.vocabulary)

    def read(self, text: str) -> Reading:
        """Read a question without any model."""
        brand = _brand_in(text, self.brand_words)
        hint = brand or _brand_in(text, self.brand_hints)
        in_domain = (
            brand is not None or hint is not None or bool(_DOMAIN.search(text)) or self._ours(text)
        )
        topic = self._parts.search(text.lower()) or (
            self._products and self._products.search(text.lower())
        )
        return Reading(
            text=text,
            lang=language(text),
            brand=brand,
            brand_hint=hint,
            brand_sensitive=self.several and bool(_BRAND_SENSITIVE.search(text)),
            several=self.several,
            other_brand=(brand is None and bool(self._others and self._others.search(text)))
            or bool(self._theirs and self._theirs.search(text)),
            # Naming one of our products makes a question ours, typos ("保休") and all.
            in_domain=in_domain,
            off_topic=brand is None and bool(_OFF_TOPIC.search(text)),
            followup=bool(_FOLLOWUP.search(text))
            or (len(text) <= 8 and (in_domain or bool(_SHORT_ASK.search(text))))
            # "检测了好几次都显示异常": on topic, but names no product or part of its own.
            or (len(text) <= 16 and in_domain and brand is None and not topic),
            small_talk=small_talk(text),
            residual_chars=len(_WORDY.findall(_FILLER.sub("", _BRAND_SENSITIVE.sub("", text)))),
        )

    def topics(self, text: str) -> list[str]:
        """The products and parts a turn names, in order."""
        low = text.lower()
        found = [m.group(0) for m in self._products.finditer(low)] if self._products else []
        found += [m.group(0) for m in self._parts.finditer(low)]
        return list(dict.fromkeys(found))

    def asks_own(self, text: str) -> bool:
        """Whether a turn asks something besides naming a topic: "X牌客服电话多少" asks for a
        number, "那电池呢" only swaps the topic of the last question."""
        rest = text.lower()
        for pattern in (self._products, self._parts):
            if pattern is not None:
                rest = pattern.sub("", rest)
        rest = _FOLLOWUP.sub("", _FILLER.sub("", rest))
        return len(_WORDY.findall(rest)) >= 2

    def unknown_terms(self, text: str) -> list[str]:
        """The nouns of a question that the knowledge never mentions ("耳机", "运费", "碎屏险"):
        an answer must say it has nothing on them rather than answer as if it had."""
        if not self._pairs or len(text) > _UNKNOWN_MAX_CHARS:
            return []  # a long story names many things in passing ("带娃出去吃饭")
        import jieba.posseg as pseg

        from bot.index.sparse import _jieba

        _jieba().initialize()
        out = []
        words = pseg.lcut(text)
        for i, (w, flag) in enumerate(words):
            before = words[i - 1] if i else None
            if before and len(before.word) == 1 and before.flag == "a":
                w = words[i - 1].word + w  # "碎" + "屏险": the term is 碎屏险
            if (
                len(w) >= 2
                and w[0] not in _MODAL
                and _CJK_RUN.fullmatch(w)
                and (flag.startswith("n") or flag == "vn")
                and w not in self._named
                and any(w[i : i + 2] not in self._pairs for i in range(len(w) - 1))
            ):
                out.append(w)
        return list(dict.fromkeys(out))

    def followup_query(self, last_query: str, text: str) -> str:
        """The standalone query for a follow-up: a new topic replaces the old one of its kind
        (a product for a product, a part for a part) and keeps the question ("那电池呢?");
        without a new topic the follow-up adds to the last query."""
        new = self.topics(text)
        if not new:
            # The last question's topics carry over, not all its words: "需要准备什么" after
            # "热水器怎么预约安装" asks what to prepare for the heater, and the old question's
            # words would outweigh the new one's.
            old = self.topics(last_query)
            return f"{' '.join(old)} {text}" if old else f"{last_query} {text}"
        rest = last_query
        for pattern in (self._products, self._parts):
            if pattern is not None and pattern.search(text.lower()):
                rest = pattern.sub("", rest)
        rest = re.sub(r"\s+", " ", _STATE.sub("", rest)).strip()
        return f"{' '.join(new)} {rest}"

    def covers(self, question: str, text: str, brand: str) -> bool:
        """Whether a text (an FAQ's question, phrasings and answer) is about every part and
        product the question names: "电机保几年" is not answered by the battery FAQ, however
        alike the two read. A product counts as named by its aliases or by the text's brand."""
        low = text.lower()
        for topic in self.topics(question):
            product = _brand_in(topic, self.brand_words)
            if product is not None:
                if brand != product and not any(w in low for w in self.brand_words[product]):
                    return False
            elif topic not in low:
                return False
        return True

    def narrower(self, question: str, faq_question: str) -> bool:
        """Whether an FAQ asks about a part the question does not name: "扫地机器人的电池保修多久?"
        does not answer "扫地机保修多久", however alike the two read. A part counts as named
        when the question has all its characters ("碎屏" in "屏幕碎了"); 整机, the whole
        product, narrows nothing."""
        parts = {
            p
            for m in self._parts.finditer(faq_question.lower())
            if (p := m.group(0)) not in _WHOLE_PRODUCT
            and not any(p in name for name in self._names)  # "手机" of a product named "X 手机"
        }
        low, named = question.lower(), self.topics(question)
        return bool(parts) and not any(
            all(ch in low for ch in p) or any(t in p for t in named) for p in parts
        )

    def carries_context(self, rewritten: str, question: str, last_query: str) -> bool:
        """Whether a model's rewrite of a follow-up is a usable standalone question: it keeps
        the follow-up's new topic, is not just the follow-up or the last question again, and
        brings in something from the last question. Small models often do neither."""
        from bot.index.sparse import tokenize

        r = rewritten.strip()
        if not r or r in (question.strip(), last_query.strip()):
            return False
        if not all(t in r.lower() for t in self.topics(question)):
            return False
        have, asked = set(tokenize(r)), set(tokenize(question))
        return bool(have - asked) and bool(have & (set(tokenize(last_query)) - asked))

    def bilingual_query(self, text: str) -> str:
        """An English question with the Chinese terms it uses appended (for retrieval)."""
        extra = [zh for pattern, zh in _EN_GLOSSARY if pattern.search(text)]
        extra += [zh for pattern, zh in self._en_names if pattern.search(text)]
        extra = list(dict.fromkeys(extra))
        return f"{text} {' '.join(extra)}" if extra else text


def _alternation(words: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(sorted(words, key=len, reverse=True)), re.I) if words else None


def _word(w: str) -> str:
    # Latin brand names match as whole words only ("apple" is not in "pineapple").
    return rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w)


# English questions against a Chinese knowledge base: e5's cross-lingual similarities run below
# the thresholds calibrated on Chinese, and BM25 matches nothing. Adding the Chinese words for
# the after-sales terms a question uses brings both back into range. Generic vocabulary only.
_EN_GLOSSARY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), zh)
    for p, zh in (
        (r"warrant", "保修"),
        (r"hotline|service number|phone number|customer service|\bcall\b", "客服热线 电话"),
        (r"repair", "维修"),
        (r"replac", "更换"),
        (r"screen", "屏幕"),
        (r"battery", "电池"),
        (r"charg(er|ing)\b", "充电"),
        (r"cracked|broken|damaged", "碎了 损坏"),
        (r"water", "进水"),
        (r"authori[sz]ed", "授权"),
        (r"\bdirect\b", "直营"),
        (r"official", "官方"),
        (r"outsourc", "外包"),
        (r"nationwide|anywhere in the country", "全国联保"),
        (r"service cent(re|er)|repair shop|store", "服务中心 网点"),
        (r"charge\b|charges|cost|price|fee|how much|expensive", "收费 价格 费用"),
        (r"complain", "投诉"),
        (r"refund", "退款"),
        (r"trad(e|ing).?in", "以旧换新"),
        (r"\bfree\b", "免费"),
        (r"elderly|senior", "老年人"),
        (r"respon", "响应"),
        (r"resolve|fix", "解决"),
        (r"hours\b|open\b|opening time", "服务时间"),
        (r"\bparts?\b", "配件"),
        (r"non.?original|third.?party", "非原装 第三方"),
        (r"health", "健康度"),
        (r"\bdays?\b|deadline|how soon", "天内 报修"),
        (r"order|shipment|deliver", "订单 物流 发货"),
        (r"manual|human agent|real person", "人工"),
        (r"scam|fake|counterfeit", "骗 仿冒"),
        (r"install", "安装"),
        (r"after.?sales", "售后"),
        (r"appointment|book", "预约"),
        (r"invoice|receipt", "发票 凭证"),
        (r"e-?mail", "邮箱"),
        (r"online|\bapp\b|website", "在线 APP 官网"),
    )
)


_DEFAULT = Reader()


def read(text: str) -> Reading:
    """Read a question with no company profile (tools that look at text alone)."""
    return _DEFAULT.read(text)
