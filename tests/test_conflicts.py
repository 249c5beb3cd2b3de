"""Conflicts and missing values found at ingest: real disagreements found, look-alikes left alone."""

from __future__ import annotations

import re

from bot.guard.numbers import normalize
from bot.ingest.conflicts import detect
from bot.types import GENERAL, Conflict, ConflictValue, Document, Faq, Section


def doc(doc_id: str, *sections: tuple[str, str], brand: str = GENERAL) -> Document:
    return Document(
        id=doc_id,
        title=doc_id,
        brand=brand,
        topic="general",
        source=(doc_id,),
        updated="",
        path=doc_id,
        sections=tuple(Section(h, t, (doc_id,), i) for i, (h, t) in enumerate(sections, 1)),
    )


def faq(sheet: str, row: int, question: str, answer: str, brand: str = GENERAL) -> Faq:
    return Faq(
        id=f"{sheet}#{row}",
        brand=brand,
        topic="general",
        question=question,
        paraphrases=(),
        answer=answer,
        source=(sheet,),
        doc=sheet,
        path=sheet,
        line=row,
    )


def conflicts(found: list[Conflict]) -> list[Conflict]:
    return [c for c in found if c.kind == "conflict"]


def missing(found: list[Conflict]) -> list[Conflict]:
    return [c for c in found if c.kind == "missing"]


def values(c: Conflict) -> set[str]:
    return {v.value for v in c.values}


CHANNELS = doc(
    "help/服务渠道.html",
    (
        "联系我们",
        "客服热线:400-820-3535(每天8:00-20:00人工服务)。\n"
        "青禾生活APP在线客服服务时间为9:00-21:00。\n"
        "微信公众号:青禾智能服务。\n"
        "售后邮箱以官网公布为准。",
    ),
)
FEES = doc(
    "policies/收费标准.pdf",
    (
        "扫地机器人配件价格",
        "项目:上门检测费;价格:50元;说明:保修期内免费\n"
        "项目:人工费;价格:80元/次\n"
        "项目:主刷;价格:39元\n"
        "项目:边刷;价格:19元/对\n"
        "项目:滤网;价格:29元\n"
        "项目:电池更换;价格:199元\n"
        "项目:驱动轮;价格:129元",
    ),
    (
        "空气净化器配件价格",
        "项目:HEPA滤芯;价格:159元\n项目:活性炭滤芯;价格:129元\n项目:电机更换;价格:260元",
    ),
    ("其他说明", "偏远地区上门费以当地服务网点报价为准。"),
    ("第2页", "青禾智能 客服热线 400-820-3553"),
)
WARRANTY = doc(
    "policies/保修政策.docx",
    (
        "保修期限",
        "产品:扫地机器人;部件:整机;保修期:1年\n"
        "产品:扫地机器人;部件:电机;保修期:3年\n"
        "产品:扫地机器人;部件:电池;保修期:1年\n"
        "产品:空气净化器;部件:整机;保修期:1年\n"
        "产品:空气净化器;部件:电机;保修期:5年",
    ),
    (
        "退换货",
        "自签收之日起7天内,商品未使用且包装完整可无理由退货。"
        "签收后15天内出现质量问题,可换同型号新品。",
    ),
    ("保修起算", "保修期自发票日期起计算;无购买凭证的,按生产日期后90天起算。"),
)
SHEET = "faq/常见问题.xlsx"
FAQS = [
    faq(
        SHEET,
        2,
        "扫地机器人电池保修多久?",
        "扫地机器人电池保修期为6个月,自购买之日起计算。",
        "robot",
    ),
    faq(SHEET, 3, "寄修多久能修好?", "收到寄修产品后5个工作日内修好寄回,保修期内往返运费全免。"),
    faq(SHEET, 4, "预约上门后多久有人联系?", "工程师会在24小时内联系您确认上门时间。"),
    faq(SHEET, 5, "投诉多久有答复?", "投诉提交后48小时内回复。"),
    faq(
        SHEET, 6, "净化器滤芯多久换一次?", "HEPA滤芯建议约6-12个月更换一次,视使用情况而定。", "air"
    ),
    faq(SHEET, 7, "退款多久到账?", "退货审核通过后3-7个工作日原路退回。"),
    faq(SHEET, 8, "主刷坏了换一个多少钱?", "主刷39元一个,边刷19元/对。", "robot"),
    faq(SHEET, 9, "电机保修几年?", "扫地机器人电机保修3年,空气净化器电机保修5年。"),
]
RETURNS = [
    faq("faq/退换货问答.csv", 2, "退款多久能到?", "审核通过后3-7个工作日退回原支付账户。"),
    faq(
        "faq/退换货问答.csv", 3, "7天无理由退货有什么条件?", "7天无理由退货需商品未使用、包装完整。"
    ),
]
CORPUS = ([CHANNELS, FEES, WARRANTY], [*FAQS, *RETURNS])


def text_of(doc_id: str) -> str:
    docs, faqs = CORPUS
    return "\n".join(
        [d.text for d in docs if d.id == doc_id] + [f.answer for f in faqs if f.doc == doc_id]
    )


def test_a_whole_knowledge_base_yields_its_real_disagreements_and_nothing_else():
    found = detect(*CORPUS)
    assert sorted(sorted(values(c)) for c in conflicts(found)) == [
        ["1年", "6个月"],
        ["400-820-3535", "400-820-3553"],
    ]
    assert sorted(m.subject for m in missing(found)) == ["偏远地区上门费", "售后邮箱"]


def test_a_hotline_stated_differently_in_two_documents_is_one_conflict():
    (c,) = conflicts(detect([CHANNELS, FEES], []))
    assert values(c) == {"400-820-3535", "400-820-3553"}
    assert {v.doc for v in c.values} == {"help/服务渠道.html", "policies/收费标准.pdf"}
    assert c.brand == GENERAL and c.advice == ""
    assert {"电话", "热线", "客服电话"} <= set(c.keywords)
    for v in c.values:
        assert normalize(v.value) in normalize(text_of(v.doc))
        assert v.source == v.doc


def test_hotlines_of_the_same_role_conflict_whatever_the_words_around_them():
    a = doc("a.md", ("联系方式", "如需售后服务,请拨打全国服务热线400-111-2222。"))
    b = faq("b.xlsx", 2, "售后电话是多少?", "您可以拨打 4001112223 联系我们。")
    (c,) = conflicts(detect([a], [b]))
    assert values(c) == {"400-111-2222", "4001112223"}


def test_a_document_that_lists_one_number_more_does_not_contradict_another():
    both = doc("a.md", ("联系方式", "客服热线:400-111-2222,或拨打客服热线800-111-2222。"))
    one = doc("b.md", ("联系方式", "客服热线:400-111-2222。"))
    assert conflicts(detect([both, one], [])) == []


def test_numbers_of_different_roles_never_conflict():
    a = doc("a.md", ("投诉", "投诉专线:400-111-2222。"))
    b = doc("b.md", ("老年用户", "银发服务专线:400-333-4444。"))
    c = doc("c.md", ("联系方式", "客服热线:400-555-6666。"))
    assert conflicts(detect([a, b, c], [])) == []


def test_a_warranty_table_row_and_an_faq_answer_that_disagree_conflict():
    found = conflicts(detect([WARRANTY], FAQS[:1]))
    assert len(found) == 1
    c = found[0]
    assert values(c) == {"1年", "6个月"}
    assert {v.doc for v in c.values} == {"policies/保修政策.docx", SHEET}
    assert "电池" in c.subject and {"电池", "多久"} <= set(c.keywords)
    assert re.fullmatch(r"auto-[a-z0-9-]+", c.id)
    for v in c.values:
        assert normalize(v.value) in normalize(text_of(v.doc))


def test_a_price_column_that_names_its_unit_is_read_as_prices():
    table = doc(
        "policies/收费标准.pdf",
        (
            "收费明细",
            "产品:扫地机器人;项目:主刷;收费(元):39\n产品:扫地机器人;项目:边刷;收费(元):19",
        ),
    )
    other = faq(SHEET, 2, "主刷多少钱?", "扫地机器人主刷45元一个。")
    (c,) = conflicts(detect([table], [other]))
    assert values(c) == {"39", "45元"} and c.subject == "扫地机器人主刷收费"
    agree = faq(SHEET, 2, "主刷多少钱?", "扫地机器人主刷39元一个,边刷19元一对。")
    assert conflicts(detect([table], [agree])) == []


def test_each_value_of_a_cell_keeps_the_words_beside_it():
    row = doc("p.docx", ("保修", "产品:扫地机器人;保修期:整机1年,电池6个月"))
    agree = faq(SHEET, 2, "扫地机器人电池保修多久?", "扫地机器人电池保修6个月。")
    assert conflicts(detect([row], [agree])) == []
    disagree = faq(SHEET, 2, "扫地机器人电池保修多久?", "扫地机器人电池保修1年。")
    (c,) = conflicts(detect([row], [disagree]))
    assert values(c) == {"6个月", "1年"} and {v.doc for v in c.values} == {"p.docx", SHEET}


def test_the_same_kind_of_value_for_different_parts_products_or_items_never_conflicts():
    battery = doc("a.md", ("电池", "扫地机器人电池保修1年。"))
    motor = faq(SHEET, 2, "扫地机器人电机保修多久?", "扫地机器人电机保修期为2年。")
    purifier = doc("b.md", ("空气净化器保修", "空气净化器电池保修6个月。"))
    items = doc("c.md", ("配件", "项目:拖布;价格:19元\n项目:尘盒;价格:39元"))
    found = detect([battery, FEES, purifier, items], [motor])
    assert conflicts(found) == []


def test_a_range_and_a_single_value_for_different_subjects_do_not_conflict():
    a = faq("a.xlsx", 2, "退款多久到账?", "退款3-7个工作日到账。")
    b = faq("b.xlsx", 2, "寄修多久修好?", "寄修3个工作日修好寄回。")
    c = faq("c.xlsx", 2, "退款多久到账?", "退款一般5个工作日内到账。")
    assert conflicts(detect([], [a, b, c])) == []


def test_two_values_within_one_document_are_not_a_conflict():
    one = doc(
        "a.md",
        ("热线", "客服热线:400-111-2222。"),
        ("又一节", "客服热线:400-111-3333。"),
        ("电池", "扫地机器人电池保修1年。"),
        ("又说电池", "扫地机器人电池保修6个月。"),
    )
    same_sheet = [
        faq("s.xlsx", 2, "电池保修多久?", "扫地机器人电池保修1年。"),
        faq("s.xlsx", 3, "电池能保多久?", "扫地机器人电池保修6个月。"),
    ]
    assert conflicts(detect([one], [])) == []
    assert conflicts(detect([], same_sheet)) == []


def test_price_tables_that_agree_across_documents_are_not_conflicts():
    again = doc(
        "policies/价目表.pdf",
        ("配件", "\n".join(f"项目:{n};价格:{p}" for n, p in _PRICES)),
        ("配件另表", "主刷39元、边刷19元/对、滤网29元、驱动轮129元。"),
    )
    assert conflicts(detect([FEES, again], FAQS)) == []


_PRICES = [
    ("上门检测费", "50元"),
    ("人工费", "80元/次"),
    ("主刷", "39元"),
    ("边刷", "19元/对"),
    ("滤网", "29元"),
    ("电池更换", "199元"),
    ("驱动轮", "129元"),
    ("HEPA滤芯", "159元"),
    ("活性炭滤芯", "129元"),
]


def test_products_of_two_brands_never_meet_but_general_meets_both():
    a = faq("a.xlsx", 2, "电池保修多久?", "扫地机器人电池保修1年。", "robot")
    b = faq("b.xlsx", 2, "电池保修多久?", "扫地机器人电池保修6个月。", "other")
    assert conflicts(detect([], [a, b])) == []
    g = faq("g.xlsx", 2, "电池保修多久?", "扫地机器人电池保修2年。", GENERAL)
    found = conflicts(detect([], [a, b, g]))
    assert sorted(sorted(values(c)) for c in found) == [["1年", "2年"], ["2年", "6个月"]]
    assert all(c.brand == GENERAL for c in found)  # mixed brands: shown for both products


def test_a_pointer_where_an_email_should_be_is_a_missing_value():
    (m,) = missing(detect([CHANNELS], []))
    assert m.doc == "help/服务渠道.html" and m.source == ("help/服务渠道.html",)
    assert "邮箱" in m.note and m.note.startswith("资料没有给出")
    assert m.how_to_find == "请以官网公布的信息为准。"
    assert {"邮箱", "email"} <= set(m.keywords)
    assert m.values == ()


def test_a_remote_area_fee_left_to_local_quotes_is_a_missing_value():
    (m,) = missing(detect([FEES], []))
    assert m.subject == "偏远地区上门费"
    assert m.note == "资料没有给出偏远地区上门费的具体金额。"
    assert m.how_to_find == "请以当地服务网点报价为准。"
    # The fees the document does give share 上门; asking about them must not fire this note.
    assert "偏远地区" in m.keywords and "上门" not in m.keywords


def test_a_pointer_next_to_the_value_itself_is_not_missing():
    stated = doc("a.md", ("价格", "主刷39元,价格以官网公示为准。"))
    number = doc("b.md", ("热线", "客服热线400-111-2222,号码以官方最新公布为准。"))
    vague = doc("c.md", ("说明", "如有疑问请咨询客服。"))
    advice = doc("d.md", ("计费", "拨打热线是否收费以当地运营商的政策为准。"))
    assert missing(detect([stated, number, vague, advice], [])) == []


def test_a_value_given_elsewhere_for_the_same_thing_is_not_missing():
    a = doc("a.md", ("保修", "扫地机器人整机保修1年。"), ("说明", "实际保修期请以保修卡为准。"))
    assert missing(detect([a], [])) == []


def test_ids_are_stable_across_runs():
    first, second = detect(*CORPUS), detect(*CORPUS)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    assert all(re.fullmatch(r"auto-[a-z0-9-]+", c.id) for c in first)


def test_hand_written_entries_suppress_their_automatic_twins():
    known_conflict = Conflict(
        id="hotline",
        kind="conflict",
        brand=GENERAL,
        topic="channels",
        subject="客服热线号码",
        keywords=("电话", "热线"),
        values=(
            ConflictValue("400-820-3535", "help/服务渠道.html", "help/服务渠道.html"),
            ConflictValue("400-820-3553", "policies/收费标准.pdf", "policies/收费标准.pdf"),
        ),
    )
    known_missing = Conflict(
        id="email",
        kind="missing",
        brand=GENERAL,
        topic="channels",
        subject="售后邮箱",
        keywords=("邮箱", "email"),
        doc="help/服务渠道.html",
        note="资料没有给出售后邮箱。",
    )
    found = detect(*CORPUS, known=[known_conflict, known_missing])
    assert [sorted(values(c)) for c in conflicts(found)] == [["1年", "6个月"]]
    assert [m.subject for m in missing(found)] == ["偏远地区上门费"]


def test_detection_stays_fast_on_hundreds_of_sections():
    import time

    docs, faqs = CORPUS
    many = [
        doc(f"d{i}.md", *((s.heading, s.text) for s in d.sections)) for i in range(40) for d in docs
    ]
    detect(docs, faqs)  # jieba's dictionary loads once per process
    start = time.perf_counter()
    detect(many, faqs)
    assert time.perf_counter() - start < 5  # generous for slow CI; about 0.1 s here


def test_the_sample_knowledge_base_holds_no_disagreement_beyond_those_written_down():
    from bot.ingest.loader import load_corpus
    from tests.conftest import KNOWLEDGE

    corpus = load_corpus(KNOWLEDGE)
    written = [c for c in corpus.conflicts if not c.id.startswith("auto-")]
    assert detect(corpus.documents, corpus.faqs, written) == []
