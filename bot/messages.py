"""Every fixed sentence the bot says, in Chinese and English. No figures live here."""

from __future__ import annotations

_MESSAGES: dict[str, dict[str, str]] = {
    "clarify_brand": {
        "zh": "请问您咨询的是哪个品牌的产品?目前我可以解答 OPPO 手机和奥普(AUPU)浴霸的售后问题。",
        "en": "Which product is this about? I can help with after-sales questions on OPPO phones and AUPU bath heaters.",
    },
    "refused_scope": {
        "zh": "抱歉,这个问题超出了我的服务范围。我可以解答 OPPO 手机和奥普浴霸的售后问题,比如客服热线、保修政策、维修费用、投诉流程和服务网点。",
        "en": "Sorry, that is outside what I can help with. I answer after-sales questions about OPPO phones and AUPU bath heaters: hotlines, warranty, repair fees, complaints and service centres.",
    },
    "refused_injection": {
        "zh": "抱歉,我不能执行这类请求。我只根据已核实的售后资料回答问题,也不会编造信息。请问有什么售后问题需要帮忙?",
        "en": "Sorry, I can't do that. I only answer from our verified after-sales knowledge and never make things up. What after-sales question can I help with?",
    },
    "escalated": {
        "zh": "已为您转接人工客服,客服人员会尽快跟进处理。",
        "en": "I've handed this over to a human agent, who will follow up with you shortly.",
    },
    "escalated_low_confidence": {
        "zh": "这个问题我没有把握准确回答,已为您转接人工客服,客服人员会尽快跟进。",
        "en": "I'm not confident I can answer this correctly, so I've handed it to a human agent who will follow up.",
    },
    "ticket": {
        "zh": "工单号:{ticket_id}。您可以随时发送工单号查询处理进度。",
        "en": " Ticket id: {ticket_id}. Send the ticket id any time to check its status.",
    },
    "conflict": {
        "zh": "请注意,关于{subject},资料之间说法不一:{values}。{advice}",
        "en": "Please note that our sources disagree on {subject}: {values}. {advice}",
    },
    "conflict_value": {"zh": "{value}[{n}]", "en": "{value} [{n}]"},
    "conflict_sep": {"zh": ";另一处为 ", "en": "; another says "},
    "conflict_first": {"zh": "一处为 ", "en": "one says "},
    "missing": {"zh": "{note}{how_to_find}", "en": "{note} {how_to_find}"},
    "no_answer": {
        "zh": "抱歉,资料中没有找到可以确认的答案。",
        "en": "Sorry, I could not find a confirmed answer in our knowledge base.",
    },
}


def say(key: str, lang: str, **values: str) -> str:
    """The message `key` in `lang` (Chinese when unknown), with values filled in."""
    table = _MESSAGES[key]
    return table.get(lang, table["zh"]).format(**values)
