"""Another company's raw files, as its support team hands them over, with no code change.

eval/kbs/qinghe/knowledge is a fictional company (青禾智能: robot vacuums and air purifiers): an
xlsx FAQ with a merged title row, a GBK CSV, a Word policy with a parts table, a two-page PDF fee
table, an HTML help page and Markdown. Real model, real Chroma.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import ROOT, make_settings

QINGHE = ROOT / "eval" / "kbs" / "qinghe" / "knowledge"
SEED_WORDS = re.compile(r"oppo|aupu|奥普|浴霸", re.I)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def qinghe(tmp_path_factory, real_embedder):
    """The company's folder copied (tests may not edit the shipped one), ingested, and its bot."""
    from bot.factory import build_bot, ingest

    root = tmp_path_factory.mktemp("qinghe")
    knowledge = root / "knowledge"
    shutil.copytree(QINGHE, knowledge)
    settings = make_settings(root / "data", knowledge)
    report = ingest(settings, embedder=real_embedder, progress=False)
    # Settings read the thresholds ingest has just fitted, as the app does when it starts.
    settings = make_settings(root / "data", knowledge)
    bot = build_bot(settings, embedder=real_embedder, chat_log=False)
    return settings, report, bot


def test_every_raw_file_is_read_and_reported(qinghe):
    _, report, _ = qinghe
    files = {f.path: f for f in report.files}
    assert not [f for f in report.files if f.error]
    assert files["faq/常见问题.xlsx"].read["rows"] >= 10
    assert files["faq/退换货问答.csv"].read["rows"] >= 5  # GBK
    assert files["policies/收费标准.pdf"].read["pages"] == 2
    assert files["policies/保修政策.docx"].read["tables"] == 1
    assert files["kefu.yaml"].kind == "profile"


def test_conflicts_and_missing_values_are_found_at_ingest(qinghe):
    settings, report, _ = qinghe
    found = {c.kind: [] for c in report.conflicts}
    for c in report.conflicts:
        found[c.kind].append(c)
    values = sorted(sorted(v.value for v in c.values) for c in found["conflict"])
    assert values == [["1年", "6个月"], ["400-820-3535", "400-820-3553"]]
    assert {c.doc for c in found["missing"]} == {"help/服务渠道.html", "policies/收费标准.pdf"}
    review = (settings.data_dir / "conflicts.detected.yaml").read_text(encoding="utf-8")
    assert "400-820-3553" in review and "policies/收费标准.pdf" in review


def test_hotline_question_gives_both_numbers_with_their_sources(qinghe):
    _, _, bot = qinghe
    a = bot.ask("售后电话多少")
    assert a.outcome == "answered"  # one company, one hotline question: no "which product?"
    assert "400-820-3535" in a.text and "400-820-3553" in a.text
    sources = {c.doc_id for c in a.citations}
    assert {"help/服务渠道.html", "policies/收费标准.pdf"} <= sources
    assert all(c.source_title and "." not in c.source_title for c in a.citations)


def test_a_table_row_answers_as_one_fact(qinghe):
    _, _, bot = qinghe
    a = bot.ask("扫地机的电机保几年")
    assert a.outcome == "answered"
    assert "电机" in a.text and "3年" in a.text and "|" not in a.text
    assert a.citations[0].doc_id == "policies/保修政策.docx"
    price = bot.ask("边刷一对多钱")
    assert "19元" in price.text and price.citations[0].locator == "第1页"


def test_a_detected_conflict_is_disclosed_where_asked_and_only_there(qinghe):
    _, _, bot = qinghe
    for q in ("扫地机电池保修多久", "S2 Pro电池保几年"):  # by name and by model alias
        a = bot.ask(q)
        assert "1年" in a.text and "6个月" in a.text, q
    whole = bot.ask("扫地机器人整机保修多久")  # states "1年" too, but asks about another part
    assert "1年" in whole.text and "6个月" not in whole.text


def test_missing_value_is_said_not_invented(qinghe):
    _, _, bot = qinghe
    a = bot.ask("售后邮箱是多少")
    assert not re.search(r"[\w.-]+@[\w-]+\.\w+", a.text)
    assert "官网" in a.text


def test_the_bot_speaks_for_this_company(qinghe):
    _, _, bot = qinghe
    refused = bot.ask("帮我写一首关于秋天的诗")
    assert refused.outcome == "refused"
    assert "青禾扫地机器人" in refused.text and not SEED_WORDS.search(refused.text)
    assert bot.ask("小米扫地机保修多久").outcome == "refused"  # a competitor's product
    assert bot.ask("净化器冒烟了还有焦味").outcome == "escalated"  # the profile's safety words


def test_the_whole_product_is_answered_before_one_part(qinghe):
    _, _, bot = qinghe
    a = bot.ask("扫地机保修多久")
    assert a.outcome == "answered"
    assert "整机" in a.text and "1年" in a.text and "电池" not in a.text


def test_rows_asked_about_together_are_given_together(qinghe):
    _, _, bot = qinghe
    a = bot.ask("两种滤芯各多少钱")
    assert a.outcome == "answered"
    assert "159元" in a.text and "129元" in a.text  # HEPA and activated carbon, one table


def test_a_follow_up_that_asks_something_new_gets_its_own_answer(qinghe):
    _, _, bot = qinghe
    bot.ask("退货怎么弄", session_id="q-refund")
    a = bot.ask("退了钱多久能到", session_id="q-refund")
    assert a.outcome == "answered" and "3-7个工作日" in a.text
    assert a.text.count("3-7") == 1  # the same fact from a second FAQ is not said twice


def test_a_hazard_said_the_other_way_round_is_still_a_hazard(qinghe):
    _, _, bot = qinghe
    a = bot.ask("不小心把水倒进净化器里了")  # the profile lists 进水
    assert a.outcome == "escalated" and a.ticket_id
    assert bot.tickets.get(a.ticket_id).category == "safety"


def test_eval_on_the_second_company_holds_its_floors(qinghe):
    """The gold questions were written from a brief of the company, never from its files."""
    from eval.harness import OURS, run_eval

    _, _, bot = qinghe
    gold = ROOT / "eval" / "kbs" / "qinghe" / "gold.jsonl"
    run = run_eval(bot, "test", baselines=False, calibration=False, gold=gold, llm=False)
    m = run.metrics[OURS]["overall"]
    # under what was measured (outcome 100%, key facts 90.9% on the test split), within the
    # issue's 5 points of the sample knowledge base (100%, 89.8%)
    assert m["outcome_accuracy"] >= 0.95
    assert m["key_fact_accuracy"] >= 0.85
    assert m["invented_numbers"] == 0 and m["forbidden_hits"] == 0
    assert m["pii_in_storage"] == 0


def test_reingest_is_idempotent_and_a_deleted_file_leaves_nothing(qinghe, real_embedder):
    from bot.factory import build_store, ingest

    settings, _, _ = qinghe
    again = ingest(settings, embedder=real_embedder, progress=False)
    assert (again.added, again.removed) == (0, 0)
    (settings.knowledge_dir / "help" / "安全须知.md").unlink()
    after = ingest(settings, embedder=real_embedder, progress=False)
    assert after.removed > 0 and after.added == 0
    store = build_store(settings).open()
    assert not [c for c in store.all_chunks() if c.doc_id == "help/安全须知.md"]
