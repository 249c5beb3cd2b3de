"""The company profile: every company-specific word comes from the knowledge folder, none from bot/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import CorpusError
from bot.messages import say
from bot.profile import Profile, load_profile, parse_profile
from bot.understand import Reader, subject_words
from tests.conftest import KNOWLEDGE, ROOT

SEED_WORDS = re.compile(r"oppo|aupu|奥普|浴霸", re.I)

WASHER = {
    "assistant": "小蓝客服",
    "company": "蓝湾电器",
    "products": [
        {"id": "washer", "name": "蓝湾洗衣机", "aliases": ["洗衣机", "滚筒"], "hints": ["排水"]},
        {"id": "dryer", "name": "蓝湾干衣机", "aliases": ["干衣机", "烘干机"]},
    ],
    "safety_words": ["漏水"],
    "priority_tiers": [{"priority": 2, "response": "48小时内回复", "doc": "policy.docx"}],
}


def test_no_seed_company_words_in_the_package():
    hits = []
    for path in (ROOT / "bot").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".js", ".html", ".json", ".yaml", ".md"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SEED_WORDS.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
    assert hits == []


def test_sample_profile_lists_its_two_products():
    profile = load_profile(KNOWLEDGE)
    assert profile.product_ids == ("oppo", "aupu")
    assert "奥普" in profile.brand_words()["aupu"]
    assert profile.tier(2, "oppo").doc == "oppo-complaint-process"


def test_texts_name_the_profiles_products_not_the_sample():
    profile = parse_profile(WASHER)
    refused = say("refused_scope", "zh", profile)
    clarify = say("clarify_brand", "zh", profile)
    for text in (refused, clarify):
        assert "蓝湾洗衣机" in text and "蓝湾干衣机" in text
        assert not SEED_WORDS.search(text)
    assert "laundry" not in say("refused_scope", "en", profile)  # no invented English names


def test_a_profile_may_override_a_text_and_keep_its_placeholders():
    profile = parse_profile(
        {**WASHER, "texts": {"handoff": {"zh": "好的,{company}人工客服马上来。"}}}
    )
    assert say("handoff", "zh", profile) == "好的,蓝湾电器人工客服马上来。"
    assert say("handoff", "en", profile).startswith("Sure")  # English falls back to ours


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"products": [{"id": "Washer Pro", "name": "x"}]}, "products[1].id"),
        ({"products": [{"id": "a", "name": "x"}, {"id": "a", "name": "y"}]}, "used twice"),
        ({"colour": "blue"}, "colour: unknown field"),
        ({"texts": {"no_such_message": "x"}}, "texts.no_such_message"),
        ({"priority_tiers": [{"priority": 9, "response": "x"}]}, "priority_tiers[1]"),
        ({"suggestions": {"a": 1}}, "suggestions"),
    ],
)
def test_malformed_profile_is_reported_with_the_field(data, problem):
    with pytest.raises(CorpusError) as e:
        parse_profile(data, "knowledge/kefu.yaml")
    assert any(problem in p and p.startswith("knowledge/kefu.yaml:") for p in e.value.problems)


def test_unreadable_profile_is_a_clear_error(tmp_path):
    (tmp_path / "kefu.yaml").write_bytes(b"products: [\xff\xfe")
    with pytest.raises(CorpusError) as e:
        load_profile(tmp_path)
    assert "kefu.yaml" in e.value.problems[0]


def test_no_profile_means_defaults_and_no_brand_question(tmp_path):
    profile = load_profile(tmp_path)
    assert profile == Profile()
    reading = Reader(profile).read("客服电话多少")
    assert not reading.brand_sensitive  # one (unnamed) product line: never "which brand?"
    assert "我们产品" in say("refused_scope", "zh", profile)


def test_several_products_make_a_brandless_question_ambiguous():
    reader = Reader(parse_profile(WASHER))
    assert reader.read("售后电话是多少").brand_sensitive
    assert reader.read("滚筒不转了").brand == "washer"
    assert reader.read("烘干机的保修期多久").brand == "dryer"


def test_scope_comes_from_the_knowledges_vocabulary():
    vocab = subject_words(["洗衣机的排水泵和门封圈保修三年", "内筒清洁剂属于耗材"])
    reader = Reader(parse_profile(WASHER), vocab)
    assert reader.read("门封圈发霉了怎么办").in_domain
    assert reader.read("内筒清洁剂在哪买").in_domain
    assert not reader.read("帮我推荐一部好看的电影").in_domain
    assert not Reader(parse_profile(WASHER)).read("门封圈发霉了怎么办").in_domain


def test_an_faq_on_one_part_is_narrower_than_a_question_on_the_product():
    reader = Reader(parse_profile(WASHER))
    assert reader.narrower("洗衣机保修多久", "洗衣机的电机保修多久?")
    assert not reader.narrower("洗衣机电机坏了保修吗", "洗衣机的电机保修多久?")
    assert not reader.narrower("洗衣机保修多久", "洗衣机整机保修多久?")  # the whole product
    assert not reader.narrower("屏幕碎了能保修吗", "碎屏怎么保修?")  # 碎屏, in other words
    assert not reader.narrower("洗衣机保修多久", "蓝湾洗衣机保修多久?")  # no part at all


def test_a_hazard_said_the_other_way_round_is_one():
    from bot.guard.scope import escalation_trigger

    words = ("进水", "漏水")
    assert escalation_trigger("不小心把水倒进去了", safety_words=words).category == "safety"
    assert escalation_trigger("洗衣机进水了", safety_words=words).category == "safety"
    assert escalation_trigger("水箱怎么清洗", safety_words=words) is None


def test_competitors_are_refused_unless_the_profile_names_them_as_ours():
    assert Reader(parse_profile(WASHER)).read("海尔的售后电话").other_brand
    ours = parse_profile({"company": "海尔", "products": [{"id": "h", "name": "海尔"}]})
    assert not Reader(ours).read("海尔的售后电话").other_brand


def test_response_times_only_for_the_product_that_publishes_them():
    sample = load_profile(KNOWLEDGE)
    assert sample.tier(2, "oppo") is not None
    assert sample.tier(2, "aupu") is None
    assert parse_profile(WASHER).tier(2, "dryer").response == "48小时内回复"


def test_profile_file_path_is_reported(tmp_path):
    (tmp_path / "kefu.yaml").write_text("products: 3\n", encoding="utf-8")
    with pytest.raises(CorpusError) as e:
        load_profile(tmp_path)
    assert Path(e.value.problems[0].split(":")[0]).name == "kefu.yaml"
