"""The number guard: figures not in the cited text are caught."""

from bot.guard.numbers import number_tokens, unsupported_numbers


def test_tokens_cover_the_figures_customers_see():
    toks = number_tokens("热线 400-773-6666,每日7:00-23:00,7×24小时,健康度低于80%,版本3.2.1,两年")
    assert toks == ["400-773-6666", "7:00-23:00", "7×24", "80%", "3.2.1", "两年"]


def test_full_width_and_dash_variants_compare_equal():
    assert unsupported_numbers("请拨打４００－７７３－６６６６", ["热线400-773-6666"]) == []


def test_invented_number_is_caught():
    cited = ["OPPO 官方维修后更换的配件保修90天。"]
    assert unsupported_numbers("配件保修90天,整机保修3年。", cited) == ["3"]
    assert unsupported_numbers("奥普热线是 400-888-1234。", ["热线以400开头"]) == ["400-888-1234"]


def test_chinese_numeral_durations_are_checked():
    assert unsupported_numbers("保修两年", ["保修期自购买日期起2年"]) == ["两年"]


def test_a_number_inside_a_longer_number_is_not_support():
    assert unsupported_numbers("保修9天", ["保修90天"]) == ["9"]
    assert unsupported_numbers("晚上23:00前", ["每日7:00-23:00人工服务"]) == []
