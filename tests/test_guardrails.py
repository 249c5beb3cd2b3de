"""Issue 4 end to end on the real bot: escalation triggers, tickets, PII, sensitive words,
memory, the number guard and streaming."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bot.answer.extractive import Draft, ExtractiveAnswerer
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

PHONE = "13812345678"
ID_CARD = "11010519491231002X"
EMAIL = "wang.li@example.com"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("guardrails")


@pytest.fixture(scope="module")
def bot(real_index, real_embedder, store_dir):
    """The real bot with its own ticket database, chat log and a sensitive-word list."""
    tmp_path = store_dir
    from bot.factory import build_bot
    from bot.tickets.store import TicketStore

    settings = make_settings(
        real_index,
        chat_log=tmp_path / "chat.jsonl",
        sensitive_words=["傻逼", "官网"],
    )
    return build_bot(
        settings, embedder=real_embedder, tickets=TicketStore(f"sqlite:///{tmp_path}/t.db")
    )


def stored_text(tmp_path) -> str:
    """Everything the bot wrote to disk: the chat log and every ticket row."""
    log = (tmp_path / "chat.jsonl").read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "t.db") as db:
        rows = db.execute("SELECT summary, transcript FROM tickets").fetchall()
    return log + json.dumps(rows, ensure_ascii=False)


@pytest.mark.parametrize(
    ("question", "category", "priority"),
    [
        ("转人工", "human", 4),
        ("我要找你们领导", "human", 4),
        ("再不处理我就去12315投诉你们", "complaint", 2),
        ("这事我会找媒体曝光", "complaint", 2),
        ("维修多收了我两百块,我要退款", "billing", 3),
        ("手机电池鼓包了", "safety", 1),
        ("浴霸漏电,刚才被电了一下", "safety", 1),
        # anger and repeated failed repairs, with no complaint keyword of a channel
        ("网点修了三次都没修好,我要投诉他们", "complaint", 2),
        ("手机修了两回还是黑屏,什么破售后,给我个说法", "complaint", 2),
    ],
)
def test_each_trigger_opens_a_ticket_the_customer_is_told_about(bot, question, category, priority):
    a = bot.ask(question, session_id=f"s-{category}-{question}")
    assert a.outcome == "escalated"
    assert a.ticket_id and a.ticket_id in a.text
    t = bot.tickets.get(a.ticket_id)
    assert (t.category, t.priority) == (category, priority)
    assert "人工" in a.text


def test_safety_turns_start_with_advice_that_fits_the_hazard(bot):
    battery = bot.ask("手机充电时冒烟了怎么办", session_id="b").text
    electric = bot.ask("浴霸漏电了", session_id="e").text
    assert battery.index("停止使用") < battery.index("工单号")
    assert "电闸" in electric and "电闸" not in battery


def test_complaint_ticket_quotes_the_response_time_with_its_source(bot):
    a = bot.ask("OPPO 售后一直拖着不修,我要去12315投诉你们", session_id="c")
    assert "24小时" in a.text
    assert a.citations and a.citations[0].doc_id == "oppo-complaint-process"
    assert "24小时" in a.citations[0].text


def test_two_unresolved_turns_in_a_row_go_to_a_person(bot):
    first = bot.ask("客服电话多少?", session_id="u")
    assert first.outcome == "clarify" and first.ticket_id is None
    second = bot.ask("保修多久?", session_id="u")  # still no product: a person sorts it out
    assert second.outcome == "escalated" and second.ticket_id
    assert bot.tickets.get(second.ticket_id).category == "unresolved"


def test_chit_chat_is_refused_without_a_ticket(bot):
    for q in ("今天北京天气怎么样", "帮我写一首关于春天的诗", "给我讲个笑话"):
        a = bot.ask(q, session_id="chat")
        assert a.outcome == "refused" and a.ticket_id is None, q


def test_an_answered_turn_resets_the_unresolved_count(bot):
    bot.ask("今天北京天气怎么样", session_id="r")
    assert bot.ask("OPPO 屏幕碎了多久内要报修?", session_id="r").outcome == "answered"
    assert bot.ask("帮我写一首诗", session_id="r").outcome == "refused"


def test_pii_is_never_stored_or_repeated(bot, store_dir):
    q = f"我手机号{PHONE},身份证{ID_CARD},邮箱{EMAIL},OPPO 屏幕碎了多久内要报修?"
    a = bot.ask(q, session_id="p")
    h = bot.handoff("p")
    assert h.ticket_id
    for value in (PHONE, ID_CARD, EMAIL):
        assert value not in a.text and value not in h.text
    stored = stored_text(store_dir)
    for value in (PHONE, ID_CARD, EMAIL):
        assert value not in stored
    assert "138****5678" in stored  # masked, so staff still see what kind of detail was given


def test_contact_given_after_handover_is_kept_only_on_the_ticket(bot, store_dir):
    a = bot.ask("我要投诉,找你们领导", session_id="k")
    assert "手机号或邮箱" in a.text  # asks, and says what the number will be used for
    reply = bot.ask(f"我的电话 {PHONE}", session_id="k")
    assert reply.reason == "contact" and "138****5678" in reply.text and PHONE not in reply.text
    t = bot.tickets.get(a.ticket_id)
    assert t.contact == PHONE and t.consent
    assert PHONE not in (store_dir / "chat.jsonl").read_text(encoding="utf-8")


def test_handoff_button_is_idempotent_and_reuses_the_bots_own_ticket(bot):
    first = bot.handoff("h")
    assert first.outcome == "escalated" and first.ticket_id
    assert bot.handoff("h").ticket_id == first.ticket_id  # a double click
    escalated = bot.ask("我要退款", session_id="h2")
    assert bot.handoff("h2").ticket_id == escalated.ticket_id
    hazard = bot.ask("手机电池鼓包了", session_id="h3")
    pressed = bot.handoff("h3")
    assert pressed.ticket_id == hazard.ticket_id
    assert "安全隐患" in pressed.text and "常规问题" not in pressed.text  # its real priority


def test_ticket_status_in_chat_is_scoped_to_the_session(bot):
    t = bot.ask("转人工", session_id="mine").ticket_id
    mine = bot.ask(f"我的工单 {t} 处理得怎么样了", session_id="mine")
    assert mine.reason == "ticket_status" and "处理中" in mine.text
    theirs = bot.ask(f"查一下工单 {t}", session_id="someone-else")
    assert "没有在当前会话中找到" in theirs.text and "处理中" not in theirs.text
    assert bot.ticket(t, "mine") is not None and bot.ticket(t, "someone-else") is None


def test_sensitive_words_are_masked_in_what_is_stored_and_said(bot, store_dir):
    bot.ask("你们这个傻逼客服,OPPO 售后电话多少", session_id="w")
    assert "傻逼" not in (store_dir / "chat.jsonl").read_text(encoding="utf-8")
    a = bot.ask("OPPO 售后电话是多少", session_id="w2")
    assert a.outcome == "answered" and "官网" not in a.text and "**" in a.text


@pytest.mark.parametrize(
    ("first", "followup", "doc"),
    [
        ("OPPO 屏幕碎了多久内要报修?", "那电池呢?", ("oppo-warranty", "oppo-repair-faults")),
        ("OPPO 手机进水了怎么处理?", "要多久内报修?", None),
        ("奥普浴霸坏了怎么报修?", "那需要准备什么?", None),
    ],
)
def test_follow_ups_carry_brand_and_topic(bot, first, followup, doc):
    sid = f"f-{first}"
    a = bot.ask(first, session_id=sid)
    b = bot.ask(followup, session_id=sid)
    assert b.outcome == "answered", b.text
    brand = "aupu" if "奥普" in first else "oppo"
    assert all(h.chunk.brand in (brand, "general") for h in b.hits)
    if doc:
        assert b.citations[0].doc_id in doc
        assert "电池" in b.text and "屏幕" not in b.text  # the topic moved on
    assert a.outcome == "answered"


def test_a_question_with_a_subject_of_its_own_is_not_read_as_the_last_topic(bot):
    """A chat customers had: the carried-over topic must not answer a new question."""
    sid = "f-chat-new-subject"
    for q in ("OPPO 屏幕碎了怎么保修?", "那电池呢", "维修要多久?"):
        assert bot.ask(q, session_id=sid).outcome == "answered"
    hotline = bot.ask("你们的客服电话是多少", session_id=sid)
    assert hotline.outcome == "answered"
    assert "400-773-6666" in hotline.text and "工作日" not in hotline.text
    complaint = bot.ask("我要投诉,修了两次还是不行", session_id=sid)
    assert complaint.outcome == "escalated" and complaint.ticket_id in complaint.text
    assert "抱歉" in complaint.text  # an apology, not "I am not sure how to answer"
    assert bot.tickets.get(complaint.ticket_id).category == "complaint"


def test_unknown_brand_that_matters_is_asked_then_used(bot):
    a = bot.ask("售后电话是多少?", session_id="cl")
    assert a.outcome == "clarify"
    b = bot.ask("奥普的", session_id="cl")
    assert b.outcome == "answered" and all(c.doc_id.startswith("aupu") for c in b.citations)


class Inventing(ExtractiveAnswerer):
    """An answerer that states a fee nobody wrote down: what a careless model does.
    With `only`, that is all it says; otherwise it adds the fee to a real answer."""

    def __init__(self, only: bool):
        self.only = only

    def _add(self, d: Draft) -> Draft:
        return Draft(("" if self.only else d.text) + "维修费用为 688元。", d.citations)

    def from_faq(self, *a, **kw):
        return self._add(super().from_faq(*a, **kw))

    def from_hits(self, *a, **kw):
        return self._add(super().from_hits(*a, **kw))

    def supplement(self, query, draft, hits, lang):
        return draft


@pytest.mark.parametrize("only", [False, True])
def test_number_guard_stops_a_figure_absent_from_the_citations(real_bot, only):
    from bot.chain import Kefu

    bot = Kefu(real_bot.settings, real_bot.retriever, real_bot.corpus, answerer=Inventing(only))
    a = bot.ask("OPPO 售后电话是多少", log=False)
    assert "688" not in a.text
    if only:  # nothing true is left to say: a person takes over
        assert a.outcome == "escalated" and a.reason == "number_guard"
    else:  # the rest of the answer still helps
        assert a.outcome == "answered" and "400-773-6666" in a.text


def test_stream_pieces_add_up_to_the_final_answer(bot):
    events = list(bot.stream("OPPO 售后电话是多少", session_id="st"))
    assert [e["event"] for e in events][-1] == "final"
    assert all(e["event"] == "delta" for e in events[:-1]) and len(events) > 2
    final = events[-1]["answer"]
    assert "".join(e["text"] for e in events[:-1]) == final.text
    assert final.citations and final.turn_id == "st:1"


@pytest.mark.parametrize(
    "question",
    [
        "比特币今天多少钱",
        "推荐几只能涨的股票",
        "明天上海天气怎么样",
        "What's the weather in Beijing?",
        "帮我写个python爬虫抓点数据",
    ],
)
def test_off_topic_questions_get_a_short_refusal_that_says_what_the_bot_does(bot, question):
    a = bot.ask(question, session_id=f"o-{question}")
    assert a.outcome == "refused" and not a.citations
    assert "售后" in a.text or "after-sales" in a.text


def test_a_number_given_with_the_escalation_is_used_only_after_a_yes(bot, store_dir):
    a = bot.ask(f"我要找你们领导,我的电话{PHONE}", session_id="y")
    assert a.outcome == "escalated" and "138****5678" in a.text and PHONE not in a.text
    assert bot.tickets.get(a.ticket_id).contact is None  # not before they agree
    ok = bot.ask("同意", session_id="y")
    assert ok.reason == "contact" and "138****5678" in ok.text
    assert bot.tickets.get(a.ticket_id).contact == PHONE

    b = bot.ask(f"我要投诉你们,电话{PHONE}", session_id="n")
    bot.ask("不用了,谢谢", session_id="n")
    assert bot.tickets.get(b.ticket_id).contact is None
    assert PHONE not in (store_dir / "chat.jsonl").read_text(encoding="utf-8")


def test_a_bare_brand_or_ticket_id_keeps_the_conversations_language(bot):
    sid = "lang-zh"
    assert bot.ask("客服电话多少?", session_id=sid).outcome == "clarify"
    a = bot.ask("OPPO", session_id=sid)
    assert a.outcome == "answered" and "400-773-6666" in a.text
    assert "From our" not in a.text and "original text" not in a.text
    ticket = bot.ask("我要找你们领导", session_id=sid).ticket_id
    status = bot.ask(ticket, session_id=sid)
    assert ticket in status.text and "Ticket" not in status.text and "priority" not in status.text
    en = "lang-en"
    assert bot.ask("What is the OPPO hotline?", session_id=en).outcome == "answered"
    assert (
        "Ticket" in bot.ask(bot.ask("I want a human", session_id=en).ticket_id, session_id=en).text
    )
