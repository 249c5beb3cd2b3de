"""The sensitive-word guard: listed words are starred out, whatever their width or case."""

from __future__ import annotations

import random
import time

import pytest

from bot.errors import ConfigError
from bot.guard.sensitive import SensitiveWords
from tests.conftest import make_settings


def test_chinese_word_is_masked_char_for_char():
    words = SensitiveWords(["傻逼"])
    assert words.find("你们这个傻逼客服") == [(4, 6, "傻逼")]
    assert words.mask("你们这个傻逼客服") == "你们这个**客服"


def test_latin_words_match_in_any_case_but_not_inside_other_words():
    words = SensitiveWords(["SB", "fuck you"])
    assert words.mask("你是sb吗,Fuck You") == "你是**吗,********"
    # "sb" in USB, or "SB" in a model name, is not the insult.
    assert words.mask("USB 接口松了,SB200 型号") == "USB 接口松了,SB200 型号"


def test_full_width_and_half_width_forms_match_each_other():
    words = SensitiveWords(["ＫＦ渠道", "fuck"])
    assert words.mask("kf渠道 和 ＦＵＣＫ") == "**** 和 ****"
    assert words.find("ＦＵＣＫ") == [(0, 4, "fuck")]


def test_longest_match_wins_and_overlaps_are_masked_whole():
    words = SensitiveWords(["傻逼", "傻逼玩意", "法轮", "轮功"])
    assert words.find("什么傻逼玩意儿") == [(2, 6, "傻逼玩意")]
    # find() reports non-overlapping hits; mask() still hides every listed word.
    assert words.find("法轮功") == [(0, 2, "法轮")]
    assert words.mask("法轮功") == "***"


def test_empty_and_duplicate_entries():
    assert not SensitiveWords([])
    assert len(SensitiveWords([])) == 0
    assert SensitiveWords([]).mask("OPPO 售后电话") == "OPPO 售后电话"
    words = SensitiveWords(["傻逼", " 傻逼 ", "", "   ", "SB", "sb", "ｓｂ"])
    assert words and len(words) == 2


def test_from_settings_joins_the_list_and_the_file(tmp_path):
    f = tmp_path / "words.txt"
    f.write_text(
        "\ufeff# 敏感词表\n\n垃圾客服\n  骗子公司  \n# 注释:下一行是英文\nscam\n", encoding="utf-8"
    )
    settings = make_settings(tmp_path, sensitive_words=["傻逼"], sensitive_words_file=f)
    words = SensitiveWords.from_settings(settings)
    assert len(words) == 4
    assert words.mask("垃圾客服,骗子公司,傻逼,SCAM!") == "****,****,**,****!"
    assert words.mask("# 注释") == "# 注释"  # comment lines are not words


def test_a_missing_or_undecodable_word_file_is_a_clear_config_error(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match=r"nope\.txt.*not found"):
        SensitiveWords.from_settings(make_settings(tmp_path, sensitive_words_file=missing))
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("垃圾客服\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk\.txt.*UTF-8"):
        SensitiveWords.from_settings(make_settings(tmp_path, sensitive_words_file=gbk))


def test_no_size_cap_a_hundred_thousand_words_build_and_scan_fast():
    rng = random.Random(7)
    hanzi = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    vocab = set()
    while len(vocab) < 100_000:
        if rng.random() < 0.8:
            vocab.add("".join(rng.choices(hanzi, k=rng.randint(2, 8))))
        else:
            vocab.add("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 12))))
    listed = sorted(vocab)
    target = listed[12_345]
    text = ("OPPO 售后电话是多少,奥普浴霸保修几年?" * 30)[:480] + target
    t0 = time.perf_counter()
    words = SensitiveWords(listed)
    masked = words.mask(text)
    elapsed = time.perf_counter() - t0
    assert len(words) == 100_000
    assert masked.endswith("*" * len(target)) and target not in masked
    assert elapsed < 2.0  # about 0.1 s here; generous for slow CI machines
