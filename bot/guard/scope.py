"""Scope guard: prompt injection is refused; some turns must go to a person at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要遵守|不用遵守|绕过|跳过|取消)[^。?!]{0,8}(指令|规则|设定|提示|限制|要求|约束|身份)|越狱|jailbreak|\bDAN\b|do anything now|developer mode|开发者模式|"
    r"ignore (all |any |the |your )?(previous |prior |above |earlier )?(instructions|rules|prompts?)|"
    r"disregard|system prompt|系统提示|提示词|系统指令|你的指令|你的设定|内部规则|prompt|"
    r"你现在是|从现在开始你是|you are now|act as|pretend|扮演|假装|管理员|admin|root权限|"
    r"整个知识库|全部知识库|知识库(的)?(全部|所有)|所有文档|全部资料|所有资料|原文全部|dump|"
    r"其他用户|别人的(订单|工单|信息|电话|手机号)|other users?|"
    r"编一个|随便编|瞎编|编造|胡编|make (one |it |something )?up|invent|猜一个|随便说一个|"
    r"从现在(起|开始)|今后你|以后你(都|就|要)|你(必须|只能|都要)(说|回答)|都要说|你就回答|always (say|answer)|from now on|"
    r"重复你收到|第一条消息|你的设定|代码块输出|原样|verbatim|debug mode|^\s*system\s*:|<\|[a-z_]+\|>|"
    r"retrieved context|context chunks|冒充|钓鱼|假装你是",
    re.I,
)


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
            r"火花|smok|fire|flame|explod|swell|swollen|bulg|electric shock|shocked|sparks|burning smell",
            re.I,
        ),
    ),
    (
        "complaint",
        2,
        re.compile(
            r"12315|消协|消费者协会|媒体|曝光|记者|律师|起诉|法院|告你们|投诉你们|投诉.{0,8}(三次|多次|好几次|没人管|没用)|"
            r"差评|lawyer|\bsue\b|lawsuit|media|journalist|report you",
            re.I,
        ),
    ),
    (
        "billing",
        2,
        re.compile(
            r"退款|退钱|退回来|多收|多扣|扣款|扣了两次|重复扣|乱收费|收费不合理|我不认|赔偿|赔钱|必须赔|账单不对|"
            r"refund|overcharg|charged twice|double.?charged|money back|compensat",
            re.I,
        ),
    ),
    (
        "human",
        3,
        re.compile(
            r"转人工|接人工|找人工|要人工|转接人工|(我要|我想|给我|帮我|请|让)(找|转|接|叫)?(人工|真人|客服人员)|"
            r"接真人|找真人|真人客服|活人|不要机器人|别跟机器人|听不懂|(找|叫|见)(你们)?(领导|经理|主管|负责人|总部)|"
            r"领导出来|^\s*人工(客服|服务)?\s*[!!。.]*\s*$|\bhuman\b|real person|live agent|"
            r"(speak|talk) (to|with) (a |an )?(person|someone|somebody|agent|manager|supervisor)|\bsupervisor\b",
            re.I,
        ),
    ),
)


def is_injection(text: str) -> bool:
    """True for attempts to override instructions, extract the prompt or knowledge base, or make up facts."""
    return bool(_INJECTION.search(text))


# "可以去12315投诉吗?" asks how to complain; it is not itself a complaint to hand over.
_ASKS_HOW = re.compile(
    r"(可以|能不能|能否|怎么|如何|怎样|哪里|在哪|应该).{0,12}(投诉|维权|反映|起诉)|"
    r"(投诉|维权|起诉|乱收费|多收费?).{0,10}(吗|么|呢|怎么办|咋办|多久|多长|时效|期限|拖)\s*[??]?\s*$"
)


def escalation_trigger(text: str) -> Trigger | None:
    """The reason this turn must go to a person now, if any."""
    for category, priority, pattern in _TRIGGERS:
        m = pattern.search(text)
        if m and not (category in ("complaint", "billing") and _ASKS_HOW.search(text)):
            return Trigger(category, priority, m.group(0))
    return None
