"""Every fixed sentence the bot says, in Chinese and English. No figures live here.

No company is named here either: `{scope}` (the products the profile lists), `{company}` and
`{assistant}` are filled from the company profile, which may also override any text by key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.profile import Profile

_MESSAGES: dict[str, dict[str, str]] = {
    "clarify_brand": {
        "zh": "请问您咨询的是哪款产品?目前我可以解答{scope}的售后问题。",
        "en": "Which product is this about? I can help with after-sales questions on {scope}.",
    },
    "refused_scope": {
        "zh": "抱歉,这个问题超出了我的服务范围。我可以解答{scope}的售后问题,比如客服热线、保修政策、维修费用、投诉流程和服务网点。",
        "en": "Sorry, that is outside what I can help with. I answer after-sales questions about {scope}: hotlines, warranty, repair fees, complaints and service centres.",
    },
    "refused_injection": {
        "zh": "抱歉,我不能执行这类请求。我只根据已核实的售后资料回答问题,也不会编造信息。请问有什么售后问题需要帮忙?",
        "en": "Sorry, I can't do that. I only answer from our verified after-sales knowledge and never make things up. What after-sales question can I help with?",
    },
    "refused_injection_ask": {
        "zh": "抱歉,消息里的那段指令我不能执行。如果您有售后问题,请不带那段指令,直接把问题发给我,我会按已核实的资料回答。",
        "en": "Sorry, I can't follow the instructions in that message. If you have an after-sales question, send it to me on its own and I'll answer from our verified information.",
    },
    "escalated": {
        "zh": "已为您转接人工客服,客服人员会尽快跟进处理。",
        "en": "I've handed this over to a human agent, who will follow up with you shortly.",
    },
    "escalated_complaint": {
        "zh": "非常抱歉让您遇到这样的情况,给您添麻烦了。您反映的问题已转给人工客服,会由专人跟进处理。",
        "en": "I'm very sorry you've had this experience. I've passed your complaint to a human agent, who will take it from here.",
    },
    "escalated_billing": {
        "zh": "费用和退款的问题需要人工核实,已为您转接人工客服,会由专人跟进处理。",
        "en": "Charges and refunds need a person to check them, so I've handed this to a human agent who will follow up.",
    },
    "escalated_low_confidence": {
        "zh": "这个问题我没有把握准确回答,已为您转接人工客服,客服人员会尽快跟进。",
        "en": "I'm not confident I can answer this correctly, so I've handed it to a human agent who will follow up.",
    },
    "escalated_unresolved": {
        "zh": "看来我没能解决您的问题,已为您转接人工客服,客服人员会尽快跟进。",
        "en": "It seems I couldn't sort this out for you, so I've handed it to a human agent who will follow up.",
    },
    "handoff": {
        "zh": "好的,已为您转接人工客服。",
        "en": "Sure, I've handed this conversation to a human agent.",
    },
    "held": {
        "zh": "客服正在为您处理,您的消息已转给客服,请稍候。",
        "en": "A member of our team is handling this conversation; they have your message and will reply here.",
    },
    "agent_joined": {
        "zh": "人工客服已接入,正在为您处理。",
        "en": "A member of our team has joined the conversation.",
    },
    "agent_left": {
        "zh": "人工客服已结束接待,如还有问题可以继续问我。",
        "en": "Our team member has handed the conversation back; ask me anything else.",
    },
    "ticket": {
        "zh": "工单号:{ticket_id}。您可以随时发送工单号查询处理进度。",
        "en": " Ticket id: {ticket_id}. Send the ticket id any time to check its status.",
    },
    "next_steps": {
        "zh": "工单优先级:{label}。",
        "en": " Priority: {label}.",
    },
    "next_steps_time": {
        "zh": "工单优先级:{label}。按资料中公布的分级响应,这一级别为{response}[{n}]。",
        "en": " Priority: {label}. Under the tiered response published in our sources, this tier is: {response} [{n}].",
    },
    "ask_contact": {
        "zh": "如需客服回电,您可以回复手机号或邮箱;发送即表示同意我们仅为处理本工单使用该联系方式。",
        "en": " If you'd like a call back, reply with a phone number or e-mail; sending it means you agree we use it only for this ticket.",
    },
    "confirm_contact": {
        "zh": "如需客服回电,回复“同意”即可使用您刚才留下的 {contact};我们仅为处理本工单使用它。",
        "en": " Reply “yes” if we may call you back on {contact}, which you gave above; it will be used only for this ticket.",
    },
    "contact_saved": {
        "zh": "已将联系方式 {contact} 记录到工单 {ticket_id},仅用于处理本工单。",
        "en": "I've added {contact} to ticket {ticket_id}; it will be used only for this ticket.",
    },
    "safety_battery": {
        "zh": "安全提示:请立即停止使用和充电,拔掉充电器,把设备放在远离易燃物的地方,不要按压、刺穿或自行拆开电池;如有明火或浓烟,请先远离并拨打火警电话。",
        "en": "Safety first: stop using and charging the device now, unplug the charger, put it away from anything flammable, and do not press, pierce or open the battery; if there are flames or heavy smoke, move away and call the fire brigade.",
    },
    "safety_electric": {
        "zh": "安全提示:请不要触碰设备,先关闭该电器的电源开关或家中的总电闸,确认断电后再处理;有人触电时不要直接用手拉人,先断电;如有明火或人员受伤,请立即拨打急救或火警电话。",
        "en": "Safety first: do not touch the appliance; switch off its power or the main breaker before anything else; if someone is being shocked, cut the power before touching them; if there is fire or anyone is hurt, call emergency services now.",
    },
    "safety_water": {
        "zh": "安全提示:请先关闭设备电源并拔掉插头,有进水阀门的请关闭阀门;不要在设备带电或地面有积水时触碰它,确认断电后再擦干积水;有人受伤或漏水危及电路时,请先断开家中总电闸。",
        "en": "Safety first: switch the appliance off and unplug it, and close its water valve if it has one; do not touch it while it is powered or while water is on the floor; if water reaches wiring or anyone is hurt, switch off the main breaker first.",
    },
    "safety_general": {
        "zh": "安全提示:请立即停止使用设备并断开电源,远离易燃物,不要自行拆修;如有明火、浓烟或人员受伤,请先远离并拨打火警或急救电话。",
        "en": "Safety first: stop using the device and cut its power now, keep it away from anything flammable and do not open it yourself; if there are flames, heavy smoke or anyone is hurt, move away and call emergency services.",
    },
    "greeting": {
        "zh": "您好,我是{assistant},可以为您解答{scope}的售后问题。",
        "en": "Hello, I'm the {assistant}. I can help with after-sales questions on {scope}.",
    },
    "ticket_status": {
        "zh": "工单 {ticket_id} 当前状态:{status}(优先级:{label},创建于 {created})。",
        "en": "Ticket {ticket_id}: {status} (priority: {label}, opened {created}).",
    },
    "ticket_not_found": {
        "zh": "没有在当前会话中找到工单 {ticket_id}。如果工单是在其他会话中创建的,请联系人工客服查询。",
        "en": "No ticket {ticket_id} was found in this conversation. If it was opened elsewhere, please ask a human agent.",
    },
    "sensitive": {
        "zh": "您的消息中含有不当用语,已做屏蔽处理。",
        "en": "Part of your message was masked.",
    },
    "conflict": {
        "zh": "关于{subject},目前有两种说法:{values}。{advice}",
        "en": "On {subject}, our sources give different answers: {values}. {advice}",
    },
    "conflict_advice": {
        "zh": "无法确认哪个是现行的说法,请以官方最新公布的信息为准,或联系人工客服核实。",
        "en": "We cannot tell which is current: please check the latest official information or ask a human agent.",
    },
    "conflict_value": {"zh": "{value}[{n}]", "en": "{value} [{n}]"},
    "conflict_sep": {"zh": ";另一种是 ", "en": "; another says "},
    "conflict_first": {"zh": "", "en": "one says "},
    "from_faq": {
        "zh": "{body}",
        "en": "Our after-sales information is in Chinese; here is what it says: {body}",
    },
    "from_passage": {
        "zh": "{body}",
        "en": "Our after-sales information ({title}) is in Chinese; here is what it says: {body}",
    },
    "supplement": {"zh": "\n补充:", "en": "\nMore detail: "},
    "related": {"zh": "\n另外:", "en": "\nAlso: "},
    "not_in_knowledge": {
        "zh": "关于{terms},我们手头的信息里没有相关说明,具体请以官方客服的答复为准。相关的信息如下:\n",
        "en": "Our information says nothing about {terms}; please check with official support. Here is what it does cover:\n",
    },
    "small_talk_greet": {
        "zh": "您好,我是{assistant},可以帮您解答{scope}的售后问题。请问有什么可以帮您?",
        "en": "Hello, I'm {assistant}. I can help with after-sales questions on {scope}. What can I do for you?",
    },
    "small_talk_thanks": {
        "zh": "不客气,很高兴能帮到您。还有其他问题随时问我。",
        "en": "You're welcome, glad to help. Ask me any time if something else comes up.",
    },
    "small_talk_bye": {
        "zh": "好的,祝您生活愉快,有需要随时再来找我。",
        "en": "Goodbye, and feel free to come back any time you need help.",
    },
    "small_talk_ack": {
        "zh": "好的。还有其他售后问题的话,直接告诉我就行。",
        "en": "All right. If there's anything else about after-sales service, just tell me.",
    },
    "repeat": {
        "zh": "和上一条回复一样:{body}\n如果还没有解决您的问题,请告诉我具体情况,或回复“转人工”由人工客服跟进。",
        "en": "Same as my last reply: {body}\nIf that does not solve it, tell me more, or reply “human” to reach an agent.",
    },
    "missing": {"zh": "{note}{how_to_find}", "en": "{note} {how_to_find}"},
    "no_answer": {
        "zh": "抱歉,资料中没有找到可以确认的答案。",
        "en": "Sorry, I could not find a confirmed answer in our knowledge base.",
    },
}


KEYS = frozenset(_MESSAGES)


class _Keep(dict):
    """Leaves a placeholder the caller did not fill as it was (a team's text may hold braces)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def say(key: str, lang: str, profile: Profile | None = None, **values: str) -> str:
    """The message `key` in `lang` (Chinese when unknown), in the profile's words when it
    overrides it, with the company's names and `values` filled in."""
    table = {**_MESSAGES[key], **(profile.texts.get(key, {}) if profile else {})}
    text = table.get(lang) or table["zh"]
    if profile is not None:
        values = {
            "scope": profile.scope(lang),
            "company": profile.company,
            "assistant": profile.assistant_en if lang == "en" else profile.assistant,
            **values,
        }
    return text.format_map(_Keep(values))
