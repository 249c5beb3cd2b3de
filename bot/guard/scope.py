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
    r"编一个|随便编|瞎编|编造|胡编|make (one |it |something )?up|invent|猜一个|随便说一个",
    re.I,
)


@dataclass(frozen=True)
class Trigger:
    category: str  # safety | complaint | billing | human
    priority: int  # 1 (most urgent) .. 4
    matched: str


# Order matters: the first match decides the category (safety outranks everything).
_TRIGGERS: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    ("safety", 1, re.compile(r"鼓包|冒烟|起火|着火|失火|爆炸|漏电|触电|电击|烧焦|焦味|smok|fire|explod|swollen|bulg|electric shock", re.I)),
    ("complaint", 2, re.compile(r"12315|消协|媒体|曝光|记者|律师|起诉|告你们|法院|我要投诉|投诉你们|要投诉|差评|lawyer|sue |lawsuit|media|journalist|file a complaint", re.I)),
    ("billing", 2, re.compile(r"退款|退钱|乱收费|多收|多扣|扣费|收费不合理|重复收费|赔偿|赔钱|refund|overcharg|charged twice|money back", re.I)),
    ("human", 3, re.compile(r"转人工|人工客服|人工服务|接人工|找人工|真人|活人|找(你们)?领导|找经理|找主管|\bhuman\b|real person|\bagent\b|manager|speak to (a |an )?(person|someone)", re.I)),
)


def is_injection(text: str) -> bool:
    """True for attempts to override instructions, extract the prompt or knowledge base, or make up facts."""
    return bool(_INJECTION.search(text))


def escalation_trigger(text: str) -> Trigger | None:
    """The reason this turn must go to a person now, if any."""
    for category, priority, pattern in _TRIGGERS:
        m = pattern.search(text)
        if m:
            return Trigger(category, priority, m.group(0))
    return None
