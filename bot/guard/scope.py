"""Scope guard: prompt injection is refused; some turns must go to a person at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.guard.injection import is_injection

__all__ = ["Trigger", "escalation_trigger", "is_injection"]


@dataclass(frozen=True)
class Trigger:
    category: str  # safety | complaint | billing | human
    priority: int  # 1 (most urgent) .. 4
    matched: str


# Order matters: the first match decides the category (safety outranks everything).
_TRIGGERS: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    (
        "safety",
        1,
        re.compile(
            r"鼓包|冒烟|起火|着火|失火|烧起来|爆炸|炸了|漏电|触电|被电|电到我|电了一下|麻手|发麻|电击|烧焦|焦味|焦糊|糊味|"
            r"火花|冒火星|冒火|打火|漏水|滴水|渗水|漏气|燃气味|煤气味|"
            # a swelling battery said plainly: "电池鼓起来了", "后盖都顶开了", "有点鼓"
            r"鼓起|(电池|后盖|屏幕)[^,,。!!??]{0,6}(鼓了|有点鼓|翘起|顶起|顶开|撑开)|"
            r"smok|fire|flame|explod|swell|swollen|bulg|electric shock|shocked|sparks|"
            r"burning smell|gas smell|smell of gas|leaking water|water leak",
            re.I,
        ),
    ),
    (
        "complaint",
        2,
        re.compile(
            r"12315|消协|消费者协会|媒体|曝光|记者|律师|起诉|法院|告你们|投诉你们|投诉.{0,8}(三次|多次|好几次|没人管|没用)|"
            # repeated failed repairs and plain anger are complaints too, whatever the product
            r"(我|必须|一定|肯定|就)(要|得)(去)?投诉|(修|换|返修)了(两|三|四|五|几|好几|很多|多)(次|回|遍).{0,12}(还|都|没|不|又)|"
            # the same fault again and again: "这都第三次了"
            r"(都|已经)第?(二|三|四|五|六|两|几|好几)(次|回)了|"
            r"什么破|破售后|垃圾(?!清理|文件|短信|邮件|电话|桶|分类)|给(我)?(个)?说法|气死|太差劲|再也不(买|会买|用)|"
            r"态度(太|很|非常|极其|真)?(差|恶劣|不好|冷漠)|不认账|不承认|推卸|踢皮球|不负责|"
            r"(电话|热线|客服).{0,6}(没人接|打不通|一直占线|没人理|不接)|"
            r"(no ?one|nobody) (is )?(answer|pick|respond|repl)|(can'?t|cannot|never) get through|"
            r"差评|lawyer|\bsue\b|lawsuit|media|journalist|report you",
            re.I,
        ),
    ),
    (
        "billing",
        2,
        re.compile(
            r"退款|退钱|退差价|退回来|退给我|多收|多扣|扣款|扣了两次|重复扣|乱收费|收费不合理|我不认|赔偿|赔钱|(必须|得|要|应该)赔|账单不对|"
            r"(我)?要求(换新|换一台|换台新|退货|退款|赔)|"
            r"refund|overcharg|charged twice|double.?charged|money back|compensat",
            re.I,
        ),
    ),
    (
        "human",
        3,
        re.compile(
            r"转人工|接人工|找人工|要人工|转接人工|(我要|我想|给我|帮我|请|让)(找|转|接|叫)?(人工|真人|客服人员)|"
            r"接真人|找真人|真人客服|活人|不要机器人|别跟机器人|听不懂|(什么|啥)都不懂|破机器人|"
            r"(找|叫|见)(你们)?(领导|经理|主管|负责人|总部)|"
            r"领导出来|^\s*人工(客服|服务)?\s*[!!。.]*\s*$|\bhuman\b|real person|live agent|"
            r"(speak|talk) (to|with) (a |an )?(person|someone|somebody|agent|manager|supervisor)|\bsupervisor\b",
            re.I,
        ),
    ),
)


# "可以去12315投诉吗?" asks how to complain; it is not itself a complaint to hand over.
_ASKS_HOW = re.compile(
    # within one clause: "到底能不能修 我要投诉" is a complaint, not a question about one
    r"(可以|能不能|能否|怎么|如何|怎样|哪里|在哪|去哪|哪儿|应该)[^,,。!!??\s]{0,12}(投诉|维权|反映|起诉|退款|退货)|"
    r"(投诉|维权|起诉|乱收费|多收费?).{0,10}(吗|么|呢|怎么办|咋办|多久|多长|时效|期限|拖)\s*[??]?\s*$|"
    # "我要投诉授权店,打哪个电话?" asks for the channel
    r"(投诉|维权).{0,15}(打哪个|哪个电话|什么电话|打什么|找谁|找哪|哪个部门|什么渠道|哪个渠道|途径)|"
    # "退款多久到账?" asks about the refund policy; "我要退款" demands one.
    r"(退款|退钱|退货).{0,8}(多久|多长时间|几天|几个工作日|什么时候|何时|到账|流程|原路|规则|政策|退到哪|到哪|去哪)|"
    r"\b(how long|when)\b.{0,30}\brefund|\brefund\b.{0,20}\b(take|policy|process|arrive)"
)


# "打客服电话怎么最快转人工?" asks about the hotline's menu; "转人工" alone asks for a person.
_ASKS_HOW_HUMAN = re.compile(
    r"(电话|热线|拨打|打).{0,10}(怎么|如何|怎样|咋).{0,6}(转|接)(到)?人工|"
    r"(怎么|如何|怎样|咋)[^,,。!!??\s]{0,6}(转|接)(到)?人工[^,,。!!??\s]{0,6}(电话|热线)"
)


_HAN = re.compile(r"[\u4e00-\u9fff]{2}")


def _inverted(word: str, low: str) -> re.Match[str] | None:
    """A two-character Chinese hazard said the other way round: "进水" as "水倒进去了",
    "鼓包" as "电池包鼓起来"."""
    if not _HAN.fullmatch(word):
        return None
    return re.search(f"{re.escape(word[1])}.{{0,3}}{re.escape(word[0])}", low)


def escalation_trigger(
    text: str, safety_words: tuple[str, ...] = (), escalation_words: tuple[str, ...] = ()
) -> Trigger | None:
    """The reason this turn must go to a person now, if any. `safety_words` and
    `escalation_words` are the company's own (its profile): a hazard of its products, say."""
    low = text.lower()
    extra = next((w for w in safety_words if w.lower() in low), None)
    if extra is None:
        extra = next((m.group(0) for w in safety_words if (m := _inverted(w, low))), None)
    if extra:
        return Trigger("safety", 1, extra)
    for category, priority, pattern in _TRIGGERS:
        m = pattern.search(text)
        if m and not (category in ("complaint", "billing") and _ASKS_HOW.search(text)):
            if category == "human" and _ASKS_HOW_HUMAN.search(text):
                continue  # how to reach a person on the hotline: a question for the knowledge
            return Trigger(category, priority, m.group(0))
    extra = next((w for w in escalation_words if w.lower() in low), None)
    return Trigger("complaint", 2, extra) if extra else None
