"""Turns a customer types that are not a standalone after-sales question: small talk, pinyin,
a bare word, a follow-up that means nothing out of its conversation."""

from __future__ import annotations

import uuid

import pytest

from bot.pinyin import PinyinReader
from bot.understand import small_talk

KNOWLEDGE_TEXTS = [
    "手机保修期为两年,保修需要凭购机发票。",
    "换屏幕的价格在官网公示,换电池也一样。",
    "电池鼓包请立即停止使用。手机进水后不要充电。",
    "收集用户反馈。",  # 收集 reads "shouji" too, but 手机 is the knowledge's word
    "手机 手机 手机",
]


@pytest.fixture(scope="module")
def pinyin() -> PinyinReader:
    return PinyinReader(KNOWLEDGE_TEXTS, keep=["oppo"])


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("baoxiu duojiu", "保修 duo jiu"),  # 多久 is not a word of this knowledge
        ("shouji baoxiuqi", "手机 保修期"),
        ("oppo pingmu", "oppo 屏幕"),
        ("dianchi ne", "电池 呢"),
        ("电池gubao了", "电池鼓包了"),
    ],
)
def test_pinyin_is_read_in_the_knowledges_own_words(pinyin, typed, read):
    assert pinyin.to_hanzi(typed) == read


@pytest.mark.parametrize(
    "text",
    [
        "how long is the warranty",  # English stays English
        "my oppo wont charge",
        "oppo",  # a brand name alone is not pinyin
        "hang on",  # pinyin-shaped, but no word of the knowledge
        "手机保修多久",
        "KF-7Q2M9X",
    ],
)
def test_english_and_chinese_are_left_as_typed(pinyin, text):
    assert pinyin.to_hanzi(text) == text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("好的谢谢", "thanks"),
        ("好的，谢谢您！", "thanks"),
        ("在吗", "greet"),
        ("Thanks so much!", "thanks"),
        ("拜拜", "bye"),
        ("嗯嗯 知道了", "ack"),
        ("ok", "ack"),
    ],
)
def test_small_talk_is_recognised(text, kind):
    assert small_talk(text) == kind


@pytest.mark.parametrize(
    "text", ["谢谢 我再问一下保修", "好的 那电池呢", "可以上门吗", "好评", "你好,电池鼓包了"]
)
def test_a_question_is_never_small_talk(text):
    assert small_talk(text) is None


# -- the real bot --------------------------------------------------------------------------


def _sid() -> str:
    return uuid.uuid4().hex


@pytest.mark.slow
def test_thanks_gets_a_friendly_line_and_never_a_ticket(real_bot):
    sid = _sid()
    real_bot.ask("OPPO 手机保修多久?", session_id=sid)
    for text in ("好的谢谢", "嗯嗯", "谢谢", "拜拜"):
        a = real_bot.ask(text, session_id=sid)
        assert a.outcome == "answered" and a.reason == "small_talk"
        assert a.ticket_id is None and a.citations == []
    assert real_bot.sessions.get(sid).unresolved == 0


@pytest.mark.slow
def test_an_english_greeting_is_answered_in_english(real_bot):
    a = real_bot.ask("hello", session_id=_sid())
    assert a.reason == "small_talk" and a.text.isascii()


@pytest.mark.slow
def test_a_question_in_pinyin_gets_the_chinese_answer(real_bot):
    a = real_bot.ask("oppo baoxiu duojiu", session_id=_sid())
    assert a.outcome == "answered"
    assert "保修" in a.text and not a.text.startswith("Our after-sales")
    assert {c.doc_id for c in a.citations} == {"oppo-warranty"}


@pytest.mark.slow
@pytest.mark.parametrize("text", ["多少钱", "坏了", "售后在哪"])
def test_a_bare_question_asks_which_product(real_bot, text):
    a = real_bot.ask(text, session_id=_sid())
    assert a.outcome == "clarify"


@pytest.mark.slow
def test_a_follow_up_that_is_nothing_on_its_own_continues_the_conversation(real_bot):
    sid = _sid()
    first = real_bot.ask("奥普浴霸坏了怎么报修", session_id=sid)
    assert first.outcome == "answered"
    alone = real_bot.ask("周末能上门吗", session_id=_sid())
    then = real_bot.ask("周末能上门吗", session_id=sid)
    assert then.outcome == "answered", (alone.outcome, then.text)
    assert any(c.doc_id.startswith("aupu") for c in then.citations)


@pytest.mark.slow
def test_a_follow_up_on_a_safety_hazard_stays_with_the_person(real_bot):
    sid = _sid()
    first = real_bot.ask("手机电池鼓包了", session_id=sid)
    assert first.outcome == "escalated" and first.ticket_id
    then = real_bot.ask("还能继续用吗 我明天才有空去", session_id=sid)
    assert then.outcome == "escalated" and then.reason == "trigger:safety"
    assert then.ticket_id == first.ticket_id  # the same ticket, not a second one


@pytest.mark.slow
@pytest.mark.parametrize("text", ["OPPO手机保修期多久?", "OPPO手机保修多久?", "oppo手机保修多久"])
def test_the_warranty_question_gets_the_warranty_answer_not_repair_times(real_bot, text):
    a = real_bot.ask(text, session_id=_sid())
    assert a.outcome == "answered"
    first = a.text.split("\n")[0]
    assert "2年" in first and "48小时" not in first


@pytest.mark.slow
def test_a_new_question_mid_conversation_is_not_answered_as_the_old_topic(real_bot):
    sid = _sid()
    for text in ("屏幕碎了怎么保修?", "那电池呢", "维修要多久?"):
        real_bot.ask(text, session_id=sid)
    a = real_bot.ask("你们的客服电话是多少", session_id=sid)
    assert a.outcome == "answered"
    assert "400-773-6666" in a.text.split("\n")[0]
    switched = _sid()
    real_bot.ask("oppo手机保修多久", session_id=switched)
    real_bot.ask("奥普浴霸呢", session_id=switched)
    a = real_bot.ask("奥普客服电话多少", session_id=switched)
    assert "热线" in a.text and "保修时长" not in a.text
    a = real_bot.ask("oppo的呢", session_id=switched)  # the hotline question, for the phone
    assert "400-773-6666" in a.text


def test_nouns_the_knowledge_never_mentions_are_found():
    from bot.understand import Reader

    reader = Reader(texts=["手机保修两年,屏幕碎了七天内报修。", "充电器请用原装。"])
    assert reader.unknown_terms("我的耳机坏了能保修吗") == ["耳机"]
    assert reader.unknown_terms("有没有延保或者碎屏险") == ["延保", "碎屏险"]
    assert reader.unknown_terms("手机屏幕碎了保修吗") == []  # all of it is in the knowledge
    assert reader.unknown_terms("周末能装吗") == []  # a verb phrase, not a thing asked about
    assert Reader().unknown_terms("耳机") == []  # no knowledge given: nothing to compare


@pytest.mark.slow
def test_an_answer_says_what_the_knowledge_has_nothing_on(real_bot):
    a = real_bot.ask("oppo原装充电器和耳机保修吗 保多久", session_id=_sid())
    assert a.outcome == "answered"
    assert a.text.startswith("关于耳机,我们手头的信息里没有相关说明")
    plain = real_bot.ask("OPPO 手机保修多久?", session_id=_sid())
    assert "没有相关说明" not in plain.text


@pytest.mark.slow
def test_traditional_characters_are_read_as_simplified(real_bot):
    a = real_bot.ask("OPPO手機保修多久?", session_id=_sid())
    assert a.outcome == "answered"
    assert "2年" in a.text.split("\n")[0] and "没有相关说明" not in a.text


@pytest.mark.parametrize(
    ("text", "shows"),
    [
        ("oppo a96", False),  # a product and a model name: the chat's language goes on
        ("OPPO", False),
        ("reno10", False),
        ("KF-7Q2M9X", False),
        ("ok", False),
        ("how long does it take", True),
        ("好的", True),
    ],
)
def test_a_bare_model_name_keeps_the_conversations_language(text, shows):
    from bot.profile import load_profile
    from bot.understand import Reader
    from tests.paths import KNOWLEDGE

    assert Reader(load_profile(KNOWLEDGE)).says_language(text) is shows
