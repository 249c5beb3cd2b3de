"""Which turns go to a person at once, and which only ask about the process: the escalation
triggers on the ways customers really say it (no model, no index)."""

from __future__ import annotations

import pytest

from bot.guard.scope import escalation_trigger


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # a swelling battery and water where electricity is, said plainly
        ("手机电池鼓起来了 后盖都顶开了 还能用吗", "safety"),
        ("我的电池好像有点鼓 后盖翘起来了", "safety"),
        ("奥普浴霸里面在滴水 灯还一闪一闪的", "safety"),
        ("浴霸开关冒火星了", "safety"),
        # a complaint after other words, anger, the same fault again, a denial
        ("修了三次了还是同一个毛病！！！你们到底能不能修 我要投诉", "complaint"),
        ("师傅上门安装把我家吊顶弄裂了 还不认账", "complaint"),
        ("垃圾售后 再也不买了😡😡😡", "complaint"),
        ("这都第三次了 我要求换新机", "complaint"),
        ("客服态度太差了 找你们领导", "complaint"),  # a complaint, not a routine handoff
        ("WHY IS NOBODY ANSWERING YOUR HOTLINE I HAVE CALLED 5 TIMES", "complaint"),
        ("我要退差价", "billing"),
        ("你们这破机器人什么都不懂", "human"),
    ],
)
def test_what_must_reach_a_person_now(text, category):
    trig = escalation_trigger(text)
    assert trig is not None and trig.category == category


@pytest.mark.parametrize(
    "text",
    [
        "打客服电话怎么最快转人工啊",  # the hotline's menu: the knowledge answers it
        "我想投诉授权店",  # how to complain
        "我要投诉授权店,打哪个电话?",
        "可以去12315投诉吗?",
        "退款多久到账",
        "手机垃圾清理怎么弄",
        "垃圾短信说我中奖了 是真的吗",
        "第二次维修还保修吗",
    ],
)
def test_questions_about_the_process_are_answered_not_handed_over(text):
    assert escalation_trigger(text) is None
