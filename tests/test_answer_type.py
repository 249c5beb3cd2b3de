"""A question asking for a number is answered by a passage that states one."""

from __future__ import annotations

from bot.retrieve.answer_type import addresses, asked_types, prefer_stated, prefer_whole
from bot.types import Chunk, Hit


def hit(text: str) -> Hit:
    chunk = Chunk(text, "doc", "doc", "t", "general", "general", (), "", text)
    return Hit(chunk, 0.0)


WARRANTY_ROW = hit("产品:扫地机器人;部件:边刷;保修期:不保修;备注:耗材")
PRICE_ROW = hit("产品:扫地机器人;项目:边刷;收费:19元;说明:元/对")
HOTLINE = hit("全国服务热线:400-820-3535,每天 8:00-20:00 提供人工服务。")


def test_what_a_question_asks_for():
    assert len(asked_types("边刷一对多钱")) == 1
    assert len(asked_types("售后电话多少")) == 1
    assert asked_types("快递好几天了还不发货 找谁啊") == []  # tells, does not ask
    assert asked_types("屏幕碎了怎么办") == []
    assert len(asked_types("扫地机的滤网换一个要多少")) == 1  # a bare 多少 after 换 is a price
    assert asked_types("一年要换多少个滤芯") == []  # a count, not a price
    assert asked_types("两款价格一样吗") == []  # compares prices, asks for none


def test_an_answer_is_graded_by_the_value_it_gives():
    assert addresses("边刷多少钱", PRICE_ROW.chunk.text) == 2
    assert addresses("边刷多少钱", "资料没有给出边刷的具体价格。") == 1  # honest about the gap
    assert addresses("边刷多少钱", WARRANTY_ROW.chunk.text) == 0
    assert addresses("边刷坏了怎么办", WARRANTY_ROW.chunk.text) == 2  # asks for no value


def test_a_passage_on_the_whole_product_goes_before_one_on_a_part_not_asked():
    battery = hit("产品:扫地机器人;部件:电池;保修期:6个月")
    whole = hit("产品:扫地机器人;部件:整机;保修期:1年")
    hits = [battery, whole, HOTLINE]
    assert prefer_whole(hits, lambda h: h is battery, lambda h: True)[0] is whole
    assert prefer_whole(hits, lambda h: False, lambda h: True) == hits  # nothing narrow
    assert prefer_whole(hits, lambda h: h is battery, lambda h: h is battery) == hits


def test_the_passage_stating_the_price_goes_first():
    hits = [WARRANTY_ROW, PRICE_ROW, HOTLINE]
    assert prefer_stated("边刷一对多钱", hits, lambda h: True)[0] is PRICE_ROW
    # not about the same subject: left where it was
    assert prefer_stated("边刷一对多钱", hits, lambda h: h is not PRICE_ROW) == hits


def test_hits_that_already_answer_or_questions_asking_nothing_are_untouched():
    assert prefer_stated("边刷多少钱", [PRICE_ROW, WARRANTY_ROW], lambda h: True)[0] is PRICE_ROW
    hits = [WARRANTY_ROW, HOTLINE]
    assert prefer_stated("边刷坏了怎么办", hits, lambda h: True) == hits
    assert prefer_stated("售后电话多少", hits, lambda h: True)[0] is HOTLINE
