"""The eval harness: metrics on hand-made records (each can fail), the report, and the floors gate."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from bot.types import Chunk
from eval.baselines import Bm25Baseline, VectorOnlyBaseline
from eval.harness import (
    CUSTOMERS,
    GOLD,
    OURS,
    OURS_LLM,
    EvalRun,
    calibration_view,
    floors_for,
    frontier,
    load_cases,
    load_floors,
    pii_audit,
    run_eval,
    sandboxed,
    session_ids,
)
from eval.metrics import (
    Record,
    by_category,
    check_floors,
    cited_ok,
    english_lines,
    escalation_scores,
    facts_ok,
    failure_reasons,
    forbidden_hits,
    hit_at,
    invented_numbers,
    llm_summary,
    missing_facts,
    off_subject,
    outcome_ok,
    passes,
    reciprocal_rank,
    repeated_pii,
    summarize,
    turn_languages,
)
from eval.report import write_report


def rec(**kw) -> Record:
    base = {
        "id": "g1",
        "category": "fees",
        "question": "q",
        "expected_outcome": ["answered"],
        "outcome": "answered",
    }
    return Record(**{**base, **kw})


def cite(doc_id: str, text: str = "", title: str = "T") -> dict:
    return {"doc_id": doc_id, "title": title, "source": "000", "text": text}


def hits(*doc_ids: str) -> list[dict]:
    return [
        {"doc_id": d, "score": 1.0 / (i + 1), "text": f"{d} text"} for i, d in enumerate(doc_ids)
    ]


# -- per record ---------------------------------------------------------------------------
def test_outcome_must_be_one_the_case_accepts():
    assert outcome_ok(rec(expected_outcome=["answered", "escalated"], outcome="escalated"))
    assert not outcome_ok(rec(expected_outcome=["refused"], outcome="answered"))


def test_every_key_fact_group_needs_one_variant_case_insensitively():
    r = rec(
        answer="Call 400-773-6666, open 7:00-23:00.", key_facts=[["400-773-6666"], ["7:00", "7点"]]
    )
    assert facts_ok(r)
    assert facts_ok(rec(answer="The OPPO app", key_facts=[["oppo APP"]]))
    r = rec(answer="保修90天", key_facts=[["90天", "九十天"], ["全国联保"]])
    assert not facts_ok(r) and missing_facts(r) == [["全国联保"]]
    assert facts_ok(rec(answer="", key_facts=[]))


def test_an_answer_must_cite_an_expected_source():
    assert cited_ok(
        rec(citations=[cite("oppo-fees"), cite("oppo-hotline")], expected_sources=["oppo-hotline"])
    )
    assert not cited_ok(rec(citations=[cite("oppo-scams")], expected_sources=["oppo-fees"]))
    assert cited_ok(rec(outcome="escalated", expected_sources=["oppo-fees"]))  # nothing to cite
    assert cited_ok(rec(citations=[], expected_sources=[]))


def test_an_answer_citing_only_other_subjects_is_off_subject():
    asked = {"expected_sources": ["oppo-warranty"]}
    assert off_subject(rec(**asked, citations=[cite("oppo-repair-faults")]))
    assert not off_subject(
        rec(**asked, citations=[cite("oppo-repair-faults"), cite("oppo-warranty")])
    )
    assert not off_subject(rec(**asked, citations=[]))  # says nothing sourced at all
    assert not off_subject(rec(**asked, outcome="escalated", citations=[cite("x")]))


def test_english_lines_are_whole_english_sentences_not_names_in_chinese():
    assert english_lines("Our after-sales information is in Chinese: 保修期两年")
    assert not english_lines("请在 OPPO 官网或“OPPO服务”APP 查询")
    assert english_lines("保修期两年。\nTicket KF-ABC234: open (priority: safety hazard)")


def test_a_turn_that_shows_no_language_keeps_its_conversations():
    turns = [
        rec(question="手机保修多久", session="s1"),
        rec(question="OPPO", session="s1"),  # a bare brand name: still Chinese
        rec(question="KF-7Q2M9X", session="s1"),
        rec(question="how long is the warranty", session="s2"),
        rec(question="ok", session="s2"),
        rec(question="ok"),  # alone, no conversation: Chinese by default
    ]
    assert turn_languages(turns) == ["zh", "zh", "zh", "en", "en", "zh"]
    chinese_chat = [
        rec(question="手机保修多久", session="s"),
        rec(question="OPPO", session="s", answer="From our FAQ (original text in Chinese): 两年"),
    ]
    assert summarize(chinese_chat)["english_in_chinese"] == 1


def test_each_gold_set_has_its_own_floors():
    assert floors_for(GOLD).name == "floors.json"
    assert floors_for(CUSTOMERS).name == "floors.customers.json"
    assert floors_for(CUSTOMERS).exists()


def test_forbidden_patterns_are_regexes():
    r = rec(answer="奥普热线 400-123-4567", forbidden=[r"400-?\d{3}-?\d{4}", "退款"])
    assert forbidden_hits(r) == [r"400-?\d{3}-?\d{4}"]
    assert forbidden_hits(rec(answer="请以400开头的官方号码为准", forbidden=[r"400-?\d{3}"])) == []


def test_numbers_not_in_the_cited_text_are_invented():
    cited = [cite("oppo-warranty", "维修更换的配件保修90天。")]
    assert invented_numbers(rec(answer="配件保修90天[1]。", citations=cited)) == []
    assert invented_numbers(rec(answer="配件保修90天,整机3年[1]。", citations=cited)) == ["3"]
    # The title is cited text too.
    assert (
        invented_numbers(
            rec(answer="见 2024 版政策", citations=[cite("d", "无", title="2024 版政策")])
        )
        == []
    )


def test_a_reply_without_citations_supports_no_figure_but_ticket_ids_are_not_figures():
    r = rec(outcome="escalated", answer="已转人工。工单号:KF-AB2C3D。")
    assert invented_numbers(r) == []
    r = rec(outcome="escalated", answer="已转人工,请拨打 400-888-1234。工单号:KF-AB2C3D。")
    assert invented_numbers(r) == ["400-888-1234"]


def test_a_masked_contact_echoed_back_is_not_a_figure():
    r = rec(answer="已将联系方式 186****1234 记录到工单 KF-AB2C3D,仅用于处理本工单。")
    assert invented_numbers(r) == []
    for masked in ("z***@163.com", "**** **** **** 0128", "110105********002X"):
        assert invented_numbers(rec(answer=f"已记录 {masked}。")) == [], masked
    # An unmasked figure beside a mask is still one.
    assert invented_numbers(rec(answer="已记录 186****1234,请 3 天后回电")) == ["3"]


def test_an_answer_repeats_pii_only_when_it_holds_the_whole_value():
    r = rec(answer="好的,我们会打 138 1234-5678 联系您", pii=["13812345678"])
    assert repeated_pii(r) == ["13812345678"]  # spaces and hyphens do not hide it
    assert "repeats the customer's PII" in failure_reasons(r)
    assert repeated_pii(rec(answer="已记录 138****5678", pii=["13812345678"])) == []
    assert repeated_pii(rec(answer="邮件发到 Zhang@163.com", pii=["zhang@163.com"])) == [
        "zhang@163.com"
    ]
    # Another case's value counts when given explicitly (what summarize does).
    assert repeated_pii(rec(answer="13900001111"), ["13900001111"]) == ["13900001111"]


def test_retrieval_ranks_distinct_documents():
    r = rec(
        retrieved=hits("oppo-fees", "oppo-fees", "oppo-hotline"), expected_sources=["oppo-hotline"]
    )
    assert not hit_at(r, 1) and hit_at(r, 2)  # the second chunk of oppo-fees is not a new rank
    assert reciprocal_rank(r) == 0.5
    assert reciprocal_rank(rec(retrieved=[], expected_sources=["x"])) == 0.0
    assert reciprocal_rank(rec(retrieved=hits("x"), expected_sources=["x"])) == 1.0


def test_failure_reasons_name_every_failed_check():
    r = rec(
        outcome="answered",
        answer="热线 400-999-9999",
        key_facts=[["免费"]],
        expected_sources=["a"],
        citations=[cite("b", "热线")],
        forbidden=["400-999"],
    )
    reasons = failure_reasons(r)
    assert [x.split(" ")[0] for x in reasons] == ["missing", "cites", "forbidden", "invented"]
    assert not passes(r)
    ok = rec(
        answer="免费[1]",
        key_facts=[["免费"]],
        expected_sources=["a"],
        citations=[cite("a", "热线免费")],
    )
    assert passes(ok) and failure_reasons(ok) == []
    # A refusal the case accepts passes without key facts.
    assert passes(
        rec(expected_outcome=["refused"], outcome="refused", answer="抱歉", key_facts=[["x"]])
    )


# -- aggregates -------------------------------------------------------------------------
def test_escalation_precision_and_recall():
    records = [
        rec(expected_outcome=["escalated"], outcome="escalated"),  # tp
        rec(expected_outcome=["escalated"], outcome="answered"),  # fn
        rec(expected_outcome=["answered", "escalated"], outcome="escalated"),  # fp: not a positive
        rec(expected_outcome=["answered"], outcome="answered"),
    ]
    assert escalation_scores(records) == (0.5, 0.5)
    assert escalation_scores([rec()]) == (None, None)


def test_summary_counts_and_rates():
    records = [
        rec(
            id="a",
            category="fees",
            answer="免费",
            key_facts=[["免费"]],
            expected_sources=["d1"],
            citations=[cite("d1", "免费")],
            retrieved=hits("d1"),
            latency_ms=10,
        ),
        rec(
            id="b",
            category="fees",
            answer="要 50 元",
            key_facts=[["免费"]],
            expected_sources=["d1"],
            citations=[cite("d2", "收费")],
            retrieved=hits("d2", "d1"),
            latency_ms=30,
            forbidden=["元"],
        ),
        rec(
            id="c",
            category="out-of-scope",
            expected_outcome=["refused"],
            outcome="answered",
            answer="晴",
            latency_ms=20,
        ),
        rec(
            id="d",
            category="conflicts",
            answer="400-773-6666 和 4001-666-888",
            latency_ms=40,
            key_facts=[["400-773-6666"], ["4001-666-888"]],
            citations=[cite("h", "400-773-6666;4001-666-888")],
        ),
    ]
    s = summarize(records)
    assert s["cases"] == 4
    assert s["outcome_accuracy"] == 0.75
    assert s["key_fact_accuracy"] == pytest.approx(2 / 3) and s["key_fact_cases"] == 3
    assert s["hit_at_1"] == 0.5 and s["hit_at_3"] == 1.0 and s["mrr"] == 0.75
    assert s["out_of_scope_refusal_rate"] == 0.0
    assert s["conflict_disclosure_rate"] == 1.0
    assert s["invented_numbers"] == 1 and s["forbidden_hits"] == 1
    assert s["pass_rate"] == 0.5
    assert s["latency_p50_ms"] == 25 and s["latency_p95_ms"] == pytest.approx(38.5)
    assert s["escalation_recall"] is None  # no positives: n/a, not 0 or 100%
    cats = by_category(records)
    assert list(cats) == ["fees", "out-of-scope", "conflicts"]
    assert cats["fees"]["cases"] == 2 and cats["fees"]["out_of_scope_refusal_rate"] is None


def test_pii_in_answers_counts_any_cases_value_once_per_answer():
    records = [
        rec(id="a", answer="收到", pii=["13812345678", "zhang@163.com"]),
        # Repeats another customer's number: a leak across conversations.
        rec(id="b", answer="请联系 13812345678 或 zhang@163.com"),
        rec(id="c", answer="已记录 138****5678", pii=["13812345678"]),
    ]
    s = summarize(records)
    assert s["pii_cases"] == 2 and s["pii_in_answers"] == 1
    assert summarize([rec()])["pii_in_answers"] == 0


def llm_meta(answerer="llm", fallback=None, dropped=0, latency=1000.0, first=200.0) -> dict:
    return {
        "answerer": answerer,
        "llm_fallback": fallback,
        "llm_dropped_sentences": dropped,
        "llm_violations": [],
        "llm_dropped_chunks": [],
        "llm_latency_ms": latency,
        "llm_first_token_ms": first,
    }


def test_llm_metrics_over_the_turns_that_tried_it():
    records = [
        rec(id="a", meta=llm_meta(latency=1000, first=100)),
        rec(id="b", meta=llm_meta(dropped=2, latency=3000, first=300)),
        rec(
            id="c",
            meta=llm_meta("extractive", "cites nothing", dropped=1, latency=2000, first=200),
        ),
        rec(id="d", meta=llm_meta("extractive", "guard: 2 numbers", latency=5000, first=None)),
        rec(id="e", meta=llm_meta("extractive", "guard: empty", latency=4000, first=None)),
        rec(id="f", meta={"answerer": "extractive"}),  # a vetted FAQ answer: never tried
        rec(id="g", outcome="escalated", meta={"answerer": "extractive"}),
    ]
    m = llm_summary(records)
    assert m["llm_turns"] == 5 and m["llm_answers"] == 2
    assert m["llm_share"] == pytest.approx(2 / 6)  # of the six answered turns
    assert m["llm_guard_dropped_turns"] == 2 and m["llm_dropped_sentences"] == 3
    assert m["llm_fallbacks"] == 3
    assert m["llm_fallback_reasons"] == {"guard": 2, "cites nothing": 1}
    assert m["llm_first_token_p50_ms"] == 200 and m["llm_first_token_p95_ms"] == pytest.approx(290)
    assert m["llm_latency_p50_ms"] == 3000 and m["llm_latency_p95_ms"] == pytest.approx(4800)
    # An extractive run and the baselines: n/a, not 0.
    assert set(llm_summary([rec(meta={"answerer": "extractive"}), rec()]).values()) == {None}
    assert summarize(records)["llm_turns"] == 5


def test_floors_flag_low_metrics_high_counts_and_missing_values():
    floors = {"min": {"outcome_accuracy": 0.9, "hit_at_1": 0.8}, "max": {"invented_numbers": 0}}
    assert (
        check_floors({"outcome_accuracy": 0.95, "hit_at_1": 0.8, "invented_numbers": 0}, floors)
        == []
    )
    broken = check_floors(
        {"outcome_accuracy": 0.85, "hit_at_1": None, "invented_numbers": 2}, floors
    )
    assert len(broken) == 3 and broken[0].startswith("outcome_accuracy")


def test_floors_file_covers_the_gated_metrics():
    floors = load_floors()
    assert {"outcome_accuracy", "key_fact_accuracy", "hit_at_1", "escalation_recall"} <= set(
        floors["min"]
    )
    assert floors["max"] == {
        "invented_numbers": 0,
        "forbidden_hits": 0,
        "pii_in_storage": 0,
        "pii_in_answers": 0,
    }


# -- harness pieces ---------------------------------------------------------------------
def test_sessions_are_shared_only_within_a_conversation():
    cases = [
        {"id": "g1"},
        {"id": "g2", "session": "s01"},
        {"id": "g3", "session": "s01"},
        {"id": "g4"},
    ]
    ids = session_ids(cases, "run")
    assert ids[1] == ids[2] and len(set(ids)) == 3


def test_gold_splits_partition_the_file():
    test, dev, every = load_cases("test"), load_cases("dev"), load_cases("all")
    assert len(test) + len(dev) == len(every) and {c["split"] for c in test} == {"test"}
    with pytest.raises(ValueError):
        load_cases("train")


def test_gold_pii_cases_carry_their_values_and_span_both_splits():
    from bot.guard.pii import find_pii

    cases = [c for c in load_cases("all") if c.get("pii")]
    assert len(cases) >= 8 and {c["split"] for c in cases} == {"dev", "test"}
    kinds = set()
    for c in cases:
        for value in c["pii"]:
            assert value in c["question"], c["id"]
            found = find_pii(value)
            assert found and found[0].value == value, (c["id"], value)
            kinds.add(found[0].kind)
    assert kinds == {"mobile", "id_card", "bank_card", "imei", "email"}


def _ticket(store, key: str, summary: str, transcript: list[dict], contact=None):
    return store.create(
        key=key,
        session_id=f"s-{key}",
        category="billing",
        summary=summary,
        transcript=transcript,
        contact=contact,
        consent=contact is not None,
    )


def test_pii_audit_finds_pii_planted_in_tickets_and_the_chat_log(tmp_path):
    from bot.chatlog import ChatLog
    from bot.tickets.store import TicketStore

    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    log = ChatLog(tmp_path / "chat_log.jsonl")
    try:
        # Clean: masked values, and a consented contact in its own column (kept on purpose).
        _ticket(
            store, "k1", "我要退款,电话 159****5678", [{"q": "我要退款", "outcome": "escalated"}]
        )
        _ticket(store, "k2", "转人工", [{"q": "转人工", "outcome": "escalated"}], "18600001234")
        log.write({"session": "s", "question": "我电话 138****5678", "ticket_id": "KF-AB2C3D"})
        clean = pii_audit(store, log.path)
        assert clean == {"tickets": 2, "chat_log_lines": 1, "pii_in_storage": 0, "findings": []}

        _ticket(store, "k3", "退款,卡号 6222021234567890128", [{"q": "身份证 11010519491231002X"}])
        log.write({"session": "s", "question": "邮箱 zhangwei88@163.com"})
        dirty = pii_audit(store, log.path)
    finally:
        store.dispose()
    assert dirty["pii_in_storage"] == 3 and dirty["chat_log_lines"] == 2
    assert sorted((f["kind"], f["where"].split()[-1]) for f in dirty["findings"]) == [
        ("bank_card", "summary"),
        ("email", "2"),
        ("id_card", "transcript"),
    ]
    # The report lists findings masked: it must not become a copy of the data.
    assert all("6222021234567890128" not in f["masked"] for f in dirty["findings"])
    assert pii_audit(None, tmp_path / "absent.jsonl")["pii_in_storage"] == 0


def test_frontier_keeps_only_undominated_points():
    points = [(0.5, 0.99), (0.7, 0.95), (0.7, 0.90), (0.6, 0.94), (0.9, 0.80)]
    assert frontier(points) == [(0.5, 0.99), (0.7, 0.95), (0.9, 0.80)]


def _chunk(cid: str, doc: str, text: str) -> Chunk:
    return Chunk(
        id=cid,
        doc_id=doc,
        kind="doc",
        title=doc,
        brand="oppo",
        topic="fees",
        source=("000",),
        heading="",
        text=text,
    )


def test_bm25_baseline_answers_with_the_best_chunk_and_always_answers():
    chunks = [
        _chunk("c1", "oppo-hotline", "OPPO 客服热线 400-773-6666"),
        _chunk("c2", "oppo-fees", "维修价格全国统一"),
    ]
    case = {
        "id": "g1",
        "category": "fees",
        "question": "维修价格统一吗",
        "expected_outcome": ["answered"],
    }
    r = Bm25Baseline(chunks, k=2).answer(case)
    assert (r.outcome, r.answer, r.citations[0]["doc_id"]) == (
        "answered",
        "维修价格全国统一",
        "oppo-fees",
    )
    empty = Bm25Baseline(chunks).answer({**case, "question": "zzz"})
    assert empty.outcome == "answered" and empty.answer == "" and empty.retrieved == []


def test_vector_baseline_takes_chroma_top_k_without_threshold_or_brand_filter():
    class Store:
        def query_chunks(self, vector, n, brands=None):
            assert brands is None
            return [("c2", 0.31), ("c1", 0.30)][:n]

    class Embedder:
        def embed_queries(self, texts):
            return np.ones((len(texts), 4), dtype=np.float32)

    chunks = [_chunk("c1", "oppo-hotline", "热线"), _chunk("c2", "oppo-fees", "价格统一")]
    case = {"id": "g1", "category": "fees", "question": "天气?", "expected_outcome": ["refused"]}
    r = VectorOnlyBaseline(Store(), Embedder(), chunks, k=2).answer(case)
    assert (
        r.outcome == "answered"
        and r.answer == "价格统一"
        and [h["doc_id"] for h in r.retrieved] == ["oppo-fees", "oppo-hotline"]
    )


def test_report_folder_has_markdown_metrics_and_plots(tmp_path):
    ours = [
        rec(id="g1", answer="免费", key_facts=[["免费"]], latency_ms=50),
        rec(
            id="g2",
            category="warranty",
            outcome="escalated",
            answer="已转人工",
            latency_ms=60,
            retrieved=hits("oppo-warranty"),
        ),
    ]
    base = [
        rec(id="g1", answer="免费", latency_ms=1),
        rec(id="g2", category="warranty", answer="?", latency_ms=2),
    ]
    cal = {
        "target_max_wrong_answered": 0.02,
        "thresholds": {"faq": 0.9, "answer": 0.85, "refuse": 0.8},
        "dev": {
            "cases": 10,
            "correct": 9,
            "answered": 8,
            "wrong_among_answered": 0,
            "coverage": 0.8,
            "accuracy": 1.0,
            "outcome_accuracy": 0.9,
        },
        "curve": [[0.8, 1.0], [0.9, 0.95]],
        "frontier": [(0.8, 1.0), (0.9, 0.95)],
        "refit": {
            "thresholds": {"faq_threshold": 0.9, "answer_threshold": 0.85, "refuse_threshold": 0.8},
            "dev": {"outcome_accuracy": 0.9, "target_met": True},
        },
    }
    meta = {
        "embedding_model": "m",
        "model_fingerprint": "m:1",
        "knowledge_fingerprint": "k1",
        "documents": 1,
        "faqs": 1,
        "chunks": 2,
        "thresholds": cal["thresholds"],
        "thresholds_source": "test",
        "settings": {"top_k": 5, "candidate_k": 20, "rrf_k": 60, "chunk_max_tokens": 320},
        "answerer": "Fake",
        "git": "abc",
        "split": "test",
        "gold": "gold.jsonl",
        "cases": 2,
        "date": "2025-01-01T00:00:00",
    }
    run = EvalRun(
        "test", dt.datetime(2025, 1, 1, 12, 0, 0), meta, {OURS: ours, "bm25-only": base}, cal, 1.0
    )
    folder = write_report(run, tmp_path, {"min": {"outcome_accuracy": 0.9}, "max": {}})
    assert folder.name == "20250101-120000"
    for name in (
        "report.md",
        "failures.md",
        "metrics.json",
        "cases.jsonl",
        "category_outcome_accuracy.png",
        "coverage_accuracy.png",
        "latency_ms.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    report = (folder / "report.md").read_text("utf-8")
    assert "| outcome accuracy | 50.0% | 100.0% |" in report
    assert "outcome_accuracy = 0.5 < floor 0.9" in report
    assert "### g2 · warranty" in (folder / "failures.md").read_text("utf-8")
    metrics = json.loads((folder / "metrics.json").read_text("utf-8"))
    assert metrics["failures"][OURS] == ["g2"] and metrics["meta"]["model_fingerprint"] == "m:1"


def _meta(**kw) -> dict:
    return {
        "embedding_model": "m",
        "model_fingerprint": "m:1",
        "knowledge_fingerprint": "k1",
        "documents": 1,
        "faqs": 1,
        "chunks": 2,
        "thresholds": {"faq": 0.9, "answer": 0.85, "refuse": 0.8},
        "thresholds_source": "test",
        "settings": {"top_k": 5, "candidate_k": 20, "rrf_k": 60, "chunk_max_tokens": 320},
        "answerer": "ExtractiveAnswerer",
        "git": "abc",
        "split": "test",
        "gold": "gold.jsonl",
        "cases": 2,
        "date": "2025-01-01T00:00:00",
        **kw,
    }


def test_report_sets_the_two_answerers_side_by_side(tmp_path):
    facts = {"key_facts": [["90天"]], "expected_sources": ["w"]}
    ours = [
        rec(id="g1", answer="保修90天", citations=[cite("w", "保修90天")], **facts),
        rec(
            id="g2",
            answer="保修90天",
            citations=[cite("w", "保修90天")],
            pii=["13812345678"],
            **facts,
        ),
    ]
    generated = [
        rec(
            id="g1",
            answer="保修90天[1]",
            citations=[cite("w", "保修90天")],
            meta=llm_meta(),
            **facts,
        ),
        # Worse: the generated answer dropped the fact.
        rec(
            id="g2",
            answer="请咨询客服[1]",
            citations=[cite("w", "保修90天")],
            pii=["13812345678"],
            meta=llm_meta(dropped=1, latency=3000),
            **facts,
        ),
    ]
    audit = {"tickets": 0, "chat_log_lines": 2, "pii_in_storage": 0, "findings": []}
    run = EvalRun(
        "test",
        dt.datetime(2025, 1, 1, 12, 0, 0),
        _meta(llm={"model": "qwen", "base_url": "http://127.0.0.1:8081/v1"}),
        {OURS: ours, OURS_LLM: generated, "bm25-only": [rec(id="g1"), rec(id="g2")]},
        None,
        2.0,
        {
            OURS: audit,
            OURS_LLM: {
                **audit,
                "pii_in_storage": 1,
                "findings": [
                    {"where": "chat log line 2", "kind": "mobile", "masked": "138****5678"}
                ],
            },
        },
        {OURS: 0.5, OURS_LLM: 1.5},
    )
    floors = {"min": {"key_fact_accuracy": 0.9}, "max": {"pii_in_storage": 0}}
    folder = write_report(run, tmp_path, floors)
    report = (folder / "report.md").read_text("utf-8")
    assert f"| metric | {OURS} | {OURS_LLM} |" in report
    assert "| key-fact accuracy (answered) | 100.0% | 50.0% |" in report
    assert "| answered turns generated by the LLM | n/a | 100.0% |" in report
    assert "| turns where the guard dropped sentences | n/a | 1 |" in report
    assert "| generation p50 (ms) | n/a | 2000.0 |" in report
    assert "**Worse with the LLM** (1): `g2` missing facts 90天" in report
    assert "`qwen` at `http://127.0.0.1:8081/v1`" in report
    assert f"| {OURS_LLM} | 0 | 2 | 1 | 0 |" in report  # the PII audit table
    assert "mobile `138****5678` in chat log line 2" in report
    assert "13812345678" not in report
    metrics = json.loads((folder / "metrics.json").read_text("utf-8"))
    assert list(metrics["systems"]) == [OURS, OURS_LLM, "bm25-only"]
    assert metrics["systems"][OURS_LLM]["overall"]["pii_in_storage"] == 1
    assert metrics["systems"]["bm25-only"]["overall"]["pii_in_storage"] is None
    # Floors gate the extractive answerer only: kefu+llm's 50% and its PII finding do not break them.
    assert metrics["floor_violations"] == []
    assert "# Failures: kefu+llm" in (folder / "failures.md").read_text("utf-8")


# -- the gate ---------------------------------------------------------------------------
@pytest.mark.slow
def test_the_bot_holds_the_floors_on_the_customers_own_questions(real_bot):
    run = run_eval(real_bot, "test", baselines=False, calibration=False, gold=CUSTOMERS, llm=False)
    ours = run.metrics[OURS]["overall"]
    assert ours["cases"] > 150
    assert check_floors(ours, load_floors(floors_for(CUSTOMERS))) == []


@pytest.mark.slow
def test_the_bot_holds_every_floor_on_the_test_split(real_bot, tmp_path):
    run = run_eval(real_bot, "test", baselines=True, calibration=False, llm=False)
    ours = run.metrics[OURS]["overall"]
    assert ours["invented_numbers"] == 0
    assert ours["forbidden_hits"] == 0
    # Tickets and chat log were written (to the run's sandbox) and hold no personal data.
    audit = run.audits[OURS]
    assert audit["tickets"] > 0 and audit["chat_log_lines"] == ours["cases"]
    assert ours["pii_cases"] > 0
    assert ours["pii_in_storage"] == 0 and ours["pii_in_answers"] == 0, audit["findings"]
    assert check_floors(ours, load_floors()) == []
    assert OURS_LLM not in run.records
    # The baselines ran on the same cases, and the report renders from a real run.
    assert {len(r) for r in run.records.values()} == {ours["cases"]}
    assert (write_report(run, tmp_path, load_floors()) / "report.md").exists()


@pytest.mark.slow
def test_calibration_view_marks_the_operating_point_on_the_dev_curve(real_bot):
    view = calibration_view(real_bot, GOLD, "test-cal", with_test=False)
    point = view["dev"]
    assert point["cases"] > 50 and 0 < point["coverage"] <= 1
    front = view["frontier"]
    assert front and all(0 <= c <= 1 and 0 <= a <= 1 for c, a in view["curve"])
    # Answering more never buys accuracy on the frontier.
    assert [a for _, a in front] == sorted((a for _, a in front), reverse=True)
    assert view["refit"]["thresholds"].keys() == {
        "faq_threshold",
        "answer_threshold",
        "refuse_threshold",
    }


@pytest.mark.slow
def test_with_an_llm_the_cases_run_twice_over_one_index(real_bot, tmp_path):
    """The generative path end to end, with a fake chat model (no real model in the default run)."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from bot.answer.llm import LLMAnswerer
    from bot.settings import Settings

    gold = tmp_path / "gold.jsonl"
    ids = {"g038", "g225", "g226", "g232", "g233"}  # answered, PII, escalation, contact follow-up
    gold.write_text(
        "".join(line + "\n" for line in GOLD.read_text("utf-8").splitlines() if line[8:12] in ids),
        "utf-8",
    )
    settings = Settings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1", llm_model="fake")
    fake = FakeListChatModel(responses=["OPPO 官方维修后更换的配件保修90天[1]。"] * 20)
    with_llm = sandboxed(real_bot, tmp_path / "bot", llm=LLMAnswerer(settings, chat_model=fake))
    run = run_eval(with_llm, "all", baselines=False, calibration=False, gold=gold)
    assert list(run.records) == [OURS, OURS_LLM]
    assert [r.id for r in run.records[OURS]] == [r.id for r in run.records[OURS_LLM]]
    m = {n: run.metrics[n]["overall"] for n in run.records}
    assert m[OURS]["llm_turns"] is None and m[OURS_LLM]["llm_turns"] >= 1
    assert m[OURS_LLM]["llm_latency_p50_ms"] is not None
    # Each answerer had its own ticket store: the escalations opened tickets in both.
    assert run.audits[OURS]["tickets"] >= 2 and run.audits[OURS_LLM]["tickets"] >= 2
    assert all(m[n]["pii_in_storage"] == 0 and m[n]["pii_in_answers"] == 0 for n in m)
    # The bot that lent its index keeps its own (here empty) stores untouched.
    assert with_llm.tickets.list() == []
    assert run.meta["llm"] == {"model": "fake", "base_url": "http://127.0.0.1:9/v1"}
