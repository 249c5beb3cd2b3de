"""The PII guard: customers' numbers are recognised by their check digits and never repeated whole."""

from __future__ import annotations

import random

import pytest

from bot.guard.pii import PiiMatch, find_pii, mask_pii, redact

MOBILE = "13812345678"
ID_CARD = "11010519491231002X"  # the GB 11643 example: check character X
ID_CARD_DIGIT = "440304199001010011"
CARD_19 = "6222021234567890128"  # Luhn-valid UnionPay-style number
CARD_16 = "4111111111111111"
IMEI = "490154203237518"
EMAIL = "zhang.san@example.com"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.value) for m in find_pii(text)]


# -- each kind, valid and not ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"我的手机号{MOBILE},麻烦回电", MOBILE),
        (f"电话 +86 {MOBILE}", f"+86 {MOBILE}"),
        (f"电话+86-{MOBILE}", f"+86-{MOBILE}"),
        ("电话8613912345678", "8613912345678"),
        ("电话 138-1234-5678 白天打", "138-1234-5678"),
        ("电话 138 1234 5678", "138 1234 5678"),
        ("１３８１２３４５６７８", "１３８１２３４５６７８"),  # typed with a full-width IME
    ],
)
def test_mobiles_are_found_as_written(text, value):
    assert kinds(text) == [("mobile", value)]


@pytest.mark.parametrize(
    "text",
    [
        "订单号 1381234567",  # 10 digits
        "订单号 138123456789",  # 12 digits
        "订单号 0138123456789",  # a mobile's digits inside a longer run
        "维修单 20138123456789",
        "12812345678",  # no mainland mobile starts 12
        "热线 400-773-6666,每日 7:00-23:00",
    ],
)
def test_numbers_that_are_not_mobiles_are_left_alone(text):
    assert find_pii(text) == []
    assert mask_pii(text) == text


@pytest.mark.parametrize("value", [ID_CARD, ID_CARD.lower(), ID_CARD_DIGIT])
def test_resident_id_with_a_valid_check_character_is_found(value):
    assert kinds(f"身份证号{value},帮我查保修") == [("id_card", value)]


@pytest.mark.parametrize(
    "value",
    [
        "440304199001010012",  # wrong check digit
        "110105194912310021",  # X expected
        "110105199902300023",  # 30 February, with the check digit that body would need
        "110105209901010020",  # born in 2099
        "990105194912310023",  # no province 99
    ],
)
def test_ids_with_a_bad_check_digit_date_or_region_are_not_pii(value):
    assert not [m for m in find_pii(value) if m.kind == "id_card"]


@pytest.mark.parametrize(
    "value",
    [CARD_19, CARD_16, "4111 1111 1111 1111", "4111-1111-1111-1111", "6222 0212 3456 7890 128"],
)
def test_luhn_valid_bank_cards_are_found_plain_or_grouped(value):
    assert kinds(f"退款打到卡 {value} 上") == [("bank_card", value)]


@pytest.mark.parametrize(
    "value", ["4111111111111112", "4111 1111 1111 1112", "62220212345678901234"]
)
def test_luhn_invalid_or_overlong_card_numbers_are_left_alone(value):
    assert find_pii(value) == []


def test_imei_needs_a_valid_luhn_digit():
    assert kinds(f"IMEI:{IMEI}") == [("imei", IMEI)]
    assert find_pii("IMEI:490154203237519") == []


def test_email_is_found_inside_chinese_text():
    assert kinds(f"邮箱{EMAIL}谢谢") == [("email", EMAIL)]


def test_overlapping_candidates_resolve_to_one_kind():
    # An ID that is also Luhn-valid is an ID; a mobile used as an e-mail name is an e-mail.
    assert kinds("440304199001010249") == [("id_card", "440304199001010249")]
    assert kinds(f"{MOBILE}@139.com") == [("email", f"{MOBILE}@139.com")]


def test_several_kinds_in_one_message_are_all_found_in_order():
    text = f"手机{MOBILE},身份证{ID_CARD},卡号{CARD_19},IMEI {IMEI},邮箱 {EMAIL}"
    found = find_pii(text)
    assert [m.kind for m in found] == ["mobile", "id_card", "bank_card", "imei", "email"]
    assert all(text[m.start : m.end] == m.value for m in found)
    assert found == sorted(found, key=lambda m: m.start)
    assert isinstance(found[0], PiiMatch)


# -- masking ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (MOBILE, "138****5678"),
        (f"+86 {MOBILE}", "+86 138****5678"),
        ("138-1234-5678", "138****5678"),
        (ID_CARD, "110105********002X"),
        (ID_CARD.lower(), "110105********002X"),
        (CARD_19, "**** **** **** 0128"),
        ("4111 1111 1111 1111", "**** **** **** 1111"),
        (IMEI, "49***********18"),
        (EMAIL, "z***@example.com"),
    ],
)
def test_masks_keep_just_enough_to_recognise(text, masked):
    assert mask_pii(text) == masked


def test_masking_keeps_the_rest_of_the_message():
    text = f"我手机号{MOBILE},身份证{ID_CARD},OPPO 屏幕碎了多久内要报修?"
    assert (
        mask_pii(text) == "我手机号138****5678,身份证110105********002X,OPPO 屏幕碎了多久内要报修?"
    )


def _random_message(rng: random.Random) -> tuple[str, list[str]]:
    values = [
        MOBILE,
        f"+86 {MOBILE}",
        "138-1234-5678",
        ID_CARD,
        ID_CARD_DIGIT,
        CARD_19,
        "4111 1111 1111 1111",
        IMEI,
        EMAIL,
    ]
    # Values are kept apart by words or punctuation: glued to other digits they would be part
    # of a longer number, which is not PII (see the adjacency tests).
    between = ["手机坏了,", "电话", "卡号:", "。", "\n", "(", ")", "OPPO 的", "、"]
    chosen = rng.sample(values, rng.randint(1, 4))
    parts: list[str] = []
    for v in chosen:
        parts += [rng.choice(between), v]
    parts.append(rng.choice(between))
    return "".join(parts), chosen


def test_masked_text_never_holds_a_whole_value_and_masking_twice_changes_nothing():
    rng = random.Random(20240615)
    for _ in range(500):
        text, values = _random_message(rng)
        masked = mask_pii(text)
        assert mask_pii(masked) == masked, text
        digits = "".join(c for c in masked if c.isdigit())
        for v in values:
            assert v not in masked, text
            v_digits = "".join(c for c in v if c.isdigit())
            if v != EMAIL:
                assert v_digits.removeprefix("86") not in digits, text


def test_adjacent_cards_are_both_masked_and_masking_is_stable():
    text = f"4111 1111 1111 1111 {CARD_19}"
    masked = mask_pii(text)
    assert masked == "**** **** **** 1111 **** **** **** 0128"
    assert mask_pii(masked) == masked


def test_redact_masks_every_string_in_nested_records_and_keeps_the_rest():
    record = {
        "session": "s1",
        "transcript": [
            {"q": f"我的电话{MOBILE}", "outcome": "escalated"},
            {"q": "卡号", "extra": (f"{EMAIL}", 3)},
        ],
        "confidence": 0.92,
        "consent": True,
        "ticket": None,
    }
    out = redact(record)
    assert out == {
        "session": "s1",
        "transcript": [
            {"q": "我的电话138****5678", "outcome": "escalated"},
            {"q": "卡号", "extra": ("z***@example.com", 3)},
        ],
        "confidence": 0.92,
        "consent": True,
        "ticket": None,
    }
    assert record["transcript"][0]["q"] == f"我的电话{MOBILE}"  # the original is not modified


# -- numbers as customers really type them (red-team findings) ------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("身份证 440304 19900101 0011 帮我查", "id_card", "身份证 440304********0011 帮我查"),
        ("身份证440304-19900101-0011", "id_card", "身份证440304********0011"),
        ("身份证 110105 19491231 002x", "id_card", "身份证 110105********002X"),
        ("卡号 622202 1234567890128", "bank_card", "卡号 **** **** **** 0128"),
        ("串号 49-015420-323751-8", "imei", "串号 49***********18"),
        ("电话147.1299.4841", "mobile", "电话147****4841"),
        ("电话 159-1912 0288 找王先生", "mobile", "电话 159****0288 找王先生"),
        ("打1852-4917-635", "mobile", "打185****7635"),
        ("(139) 8867-4667 白天都在", "mobile", "139****4667 白天都在"),
        ("手机 1 3 8 1 2 3 4 5 6 7 8", "mobile", "手机 138****5678"),
        ("邮箱 zhang.san @ foxmail.com", "email", "邮箱 z***@foxmail.com"),
        ("zhangsan(at)foxmail.com", "email", "z***@foxmail.com"),
        ("zhangsan[at]foxmail[dot]com 回我", "email", "z***@foxmail.com 回我"),
        ("ｚｈａｎｇ＠ｆｏｘｍａｉｌ．ｃｏｍ", "email", "z***@foxmail.com"),
    ],
)
def test_grouped_spaced_and_spelled_out_values_are_found_and_masked(text, kind, masked):
    assert [m.kind for m in find_pii(text)] == [kind]
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "热线 400-773-6666,每日 7:00-23:00",
        "2024.12.03 买的,价格 1999 元,型号 PHB110",
        "保修 1 年 3 个月,维修 2 次",
        "look at example.com for details",
        "订单号 0138 1234 5678 9",  # a mobile's digits inside a longer grouped run: not a mobile
    ],
)
def test_dates_prices_hotlines_and_order_numbers_stay_as_written(text):
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_a_long_run_of_single_digits_is_scanned_quickly_and_fully():
    text = " ".join("1" * 4000)
    assert mask_pii(text) == text  # no valid number in it, and no quadratic blow-up


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("13812345678", "13812345678"),
        ("我的电话 (139) 8867-4667,下午打", "13988674667"),
        ("+86 138-1234-5678", "13812345678"),
        ("Zhang(at)Foxmail.com", "zhang@foxmail.com"),
        ("座机 010-12345678", "010-12345678"),
        ("身份证 11010519491231002X", None),
        ("下午三点以后", None),
    ],
)
def test_a_contact_is_only_ever_a_phone_number_or_an_email_written_plainly(given, kept):
    from bot.guard.pii import contact_value

    assert contact_value(given) == kept
