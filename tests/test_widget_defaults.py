"""Per-product quick replies and the CORS refusal log (no browser, no model)."""

from __future__ import annotations

import logging
import re

import pytest
import yaml
from fastapi.testclient import TestClient

from bot.errors import CorpusError
from bot.profile import load_profile, parse_profile, product_suggestions
from bot.types import Faq
from tests.conftest import KNOWLEDGE, make_settings

PRODUCTS = {
    "suggestions": ["洗衣机不排水怎么办?", "干衣机保修多久?", "上门费多少?"],
    "products": [
        {"id": "washer", "name": "蓝湾洗衣机", "aliases": ["洗衣机"], "suggestions": ["滚筒异响?"]},
        {"id": "dryer", "name": "蓝湾干衣机", "aliases": ["干衣机", "烘干机"]},
    ],
}


def faq(brand: str, topic: str, question: str) -> Faq:
    return Faq(question, brand, topic, question, (), "答。", ("a.txt",), "", "faq.yaml", 1)


def test_a_product_may_list_its_own_suggestions():
    profile = parse_profile(PRODUCTS)
    assert profile.product("washer").suggestions == ("滚筒异响?",)
    assert profile.product("dryer").suggestions == ()
    with pytest.raises(CorpusError, match=r"products\[1\]\.suggestions"):
        parse_profile({"products": [{"id": "washer", "suggestions": {"a": 1}}]})


def test_a_product_without_suggestions_gets_its_faq_questions_one_topic_at_a_time():
    profile = parse_profile(PRODUCTS)
    faqs = [
        faq("dryer", "channels", "干衣机客服电话?"),
        faq("dryer", "channels", "干衣机电话打不通?"),
        faq("washer", "fees", "洗衣机上门费?"),  # another product's
        faq("dryer", "channels", "干衣机有在线客服吗?"),
        faq("dryer", "warranty", "干衣机保修多久?"),
        faq("general", "process", "怎么投诉?"),  # no product's
        faq("dryer", "fees", "干衣机维修多少钱?"),
    ]
    chips = product_suggestions(profile, faqs)
    assert chips["washer"] == ("滚筒异响?",)  # its own list wins
    assert chips["dryer"] == (
        "干衣机客服电话?",
        "干衣机保修多久?",
        "干衣机维修多少钱?",
        "干衣机电话打不通?",
    )


def test_without_faqs_a_product_gets_the_suggestions_naming_no_other_product():
    chips = product_suggestions(parse_profile(PRODUCTS), [])
    assert chips["dryer"] == ("干衣机保修多久?", "上门费多少?")


def test_the_sample_profile_gives_each_product_its_own_questions():
    chips = product_suggestions(load_profile(KNOWLEDGE))
    assert len(chips["aupu"]) == 4 and all(re.search("浴霸|奥普", q) for q in chips["aupu"])
    assert len(chips["oppo"]) == 4 and not any(re.search("浴霸|奥普", q) for q in chips["oppo"])


def test_the_widget_derives_missing_product_chips_from_the_knowledge(knowledge_copy, tmp_path):
    from bot.web.server import widget_defaults

    path = knowledge_copy / "kefu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for p in data["products"]:
        p.pop("suggestions", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    d = widget_defaults(make_settings(tmp_path / "data", knowledge_dir=knowledge_copy))
    heater = d["product_chips"]["aupu"]
    assert len(heater) == 4 and all(re.search("浴霸|奥普", q) for q in heater)
    assert not any(re.search("浴霸|奥普", q) for q in d["product_chips"]["oppo"])


def test_a_refused_origin_is_logged_once(tmp_path, caplog):
    from bot.web.server import create_app

    shop = "https://shop.example.com"
    settings = make_settings(tmp_path / "data", cors_origins=[shop])
    client = TestClient(create_app(settings, ui=False))  # no lifespan: nothing loads
    preflight = {"Access-Control-Request-Method": "POST"}
    with caplog.at_level(logging.WARNING, logger="kefu.web"):
        for origin in (shop, "https://evil.example", "https://evil.example"):
            client.options("/api/chat", headers={"Origin": origin, **preflight})
    refused = [r.getMessage() for r in caplog.records if "cross-origin" in r.getMessage()]
    assert len(refused) == 1
    assert "'https://evil.example'" in refused[0] and "KEFU_CORS_ORIGINS" in refused[0]
