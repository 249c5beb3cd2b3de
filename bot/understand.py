"""Cheap, model-free reading of a question: language, brand, and what kind of turn it is."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")

_BRAND_WORDS: dict[str, tuple[str, ...]] = {
    "oppo": ("oppo", "欧珀", "reno", "find x", "findx", "coloros", "一加"),
    "aupu": ("奥普", "aupu"),
}
# Weaker hints: the only phone brand we serve is OPPO, the only appliance is AUPU's bath heater.
_BRAND_HINTS: dict[str, tuple[str, ...]] = {
    "oppo": ("手机", "屏幕", "电池", "充电", "系统升级", "phone", "screen", "battery"),
    "aupu": ("浴霸", "凉霸", "集成吊顶", "取暖", "换气", "暖风", "吊顶", "bath heater"),
}
# Topics whose answer differs by brand: asking without a brand needs a clarifying question.
_BRAND_SENSITIVE = re.compile(
    r"客服电话|售后电话|服务电话|热线|电话多少|电话是多少|号码|保修多久|保修期|保修几年|质保|"
    r"hotline|phone number|warranty",
    re.I,
)
_OTHER_BRANDS = re.compile(
    r"华为|小米|vivo|苹果|iphone|三星|荣耀|魅族|realme|美的|格力|海尔|欧普|雷士|huawei|xiaomi|samsung|apple",
    re.I,
)
_DOMAIN = re.compile(
    r"售后|售後|维修|修|保修|保休|质保|客服|电话|热线|投诉|换新|以旧换新|电池|屏幕|屏|充电|网点|服务|费用|收费|"
    r"价格|多少钱|工单|报修|安装|配件|检测|退|赔|官方|外包|授权|直营|骗|诈骗|翻新|渠道|人工|联系|"
    r"进度|上门|浴霸|手机|升级|系统|故障|坏|碎|鼓包|漏电|"
    r"repair|warranty|service|hotline|phone|complain|battery|screen|refund|fee|price|support|center|"
    r"centre|contact|channel|trade-in|call|order|ship|deliver|e-?mail|hours|open|free|cost|fix|broken|crack|"
    r"replace|store|shop|outsourc|authori[sz]|fake|scam|heater|install|respond|resolve",
    re.I,
)
# Subjects no after-sales answer covers, however close a price or "多少钱" FAQ scores.
_OFF_TOPIC = re.compile(
    r"比特币|以太坊|虚拟币|加密货币|股票|股价|炒股|基金|理财|彩票|汇率|外汇|黄金价格|天气|气温|"
    r"写(一)?首诗|作诗|写诗|菜谱|食谱|星座|算命|bitcoin|crypto|stock (price|tip)|weather|lottery|"
    r"exchange rate|horoscope|recipe|poem",
    re.I,
)
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
    other_brand: bool
    in_domain: bool
    off_topic: bool
    followup: bool
    residual_chars: int  # Chinese/Latin characters left once brand-sensitive words are removed


def language(text: str) -> str:
    """English when the question has Latin letters and no Chinese characters."""
    return "en" if _LATIN.search(text) and not _CJK.search(text) else "zh"


def _brand_in(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    low = text.lower()
    found = [b for b, words in table.items() if any(w in low for w in words)]
    return found[0] if len(found) == 1 else None


def read(text: str) -> Reading:
    """Read a question without any model."""
    brand = _brand_in(text, _BRAND_WORDS)
    in_domain = brand is not None or bool(_DOMAIN.search(text))
    return Reading(
        text=text,
        lang=language(text),
        brand=brand,
        brand_hint=brand or _brand_in(text, _BRAND_HINTS),
        brand_sensitive=bool(_BRAND_SENSITIVE.search(text)),
        other_brand=bool(_OTHER_BRANDS.search(text)) and brand is None,
        # Naming one of our brands makes a question ours, typos ("保休") and all.
        in_domain=in_domain,
        off_topic=brand is None and bool(_OFF_TOPIC.search(text)),
        followup=bool(_FOLLOWUP.search(text))
        or (len(text) <= 8 and (in_domain or bool(_SHORT_ASK.search(text))))
        # "检测了好几次都显示异常": on topic, but names no product or part of its own.
        or (len(text) <= 16 and in_domain and brand is None and not _TOPIC.search(text.lower())),
        residual_chars=len(_WORDY.findall(_FILLER.sub("", _BRAND_SENSITIVE.sub("", text)))),
    )


# What a turn is about: "那电池呢?" after "屏幕碎了多久内要报修?" swaps 屏幕 for 电池.
_TOPIC = re.compile(
    r"碎屏|屏幕|屏|电池|充电器|充电|数据线|进水|主板|摄像头|相机|扬声器|听筒|后盖|边框|系统|"
    r"耳机|手表|平板|浴霸|凉霸|灯暖|风暖|开关|遥控器|面板|电机|灯泡|吊顶|"
    r"battery|screen|charger|camera|speaker|heater|remote"
)
_STATE = re.compile(r"碎了|坏了|裂了|进水了|鼓包了|不亮了?|失灵了?|broken|cracked")


def followup_query(last_query: str, text: str) -> str:
    """The standalone query for a follow-up: a new topic replaces the old one and keeps the
    question ("那电池呢?"); without a new topic the follow-up adds to the last query."""
    new = list(dict.fromkeys(_TOPIC.findall(text.lower())))
    if not new:
        return f"{last_query} {text}"
    rest = re.sub(r"\s+", " ", _STATE.sub("", _TOPIC.sub("", last_query))).strip()
    return f"{' '.join(new)} {rest}"


def carries_context(rewritten: str, question: str, last_query: str) -> bool:
    """Whether a model's rewrite of a follow-up is a usable standalone question: it keeps the
    follow-up's new topic, is not just the follow-up or the last question again, and brings in
    something from the last question. Small models often do neither."""
    from bot.index.sparse import tokenize

    r = rewritten.strip()
    if not r or r in (question.strip(), last_query.strip()):
        return False
    if not all(t in r.lower() for t in _TOPIC.findall(question.lower())):
        return False
    have, asked = set(tokenize(r)), set(tokenize(question))
    return bool(have - asked) and bool(have & (set(tokenize(last_query)) - asked))


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
        (r"bath heater", "浴霸"),
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


def bilingual_query(text: str) -> str:
    """An English question with the Chinese after-sales terms it uses appended (for retrieval)."""
    extra = list(dict.fromkeys(zh for pattern, zh in _EN_GLOSSARY if pattern.search(text)))
    return f"{text} {' '.join(extra)}" if extra else text
