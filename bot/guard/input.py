"""Input guard: clean a question, or reject it with a clear message."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InputError, TooLongError

# Invisible characters: zero-width and joiner marks, bidi controls, word joiners and the
# Unicode tag block (a whole instruction can be written in tag characters, unseen).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u206f\ufeff\U000e0000-\U000e007f]"
)
# U+FFFD and lone surrogates ("\\ud800" in JSON; undecodable bytes under surrogateescape).
_JUNK = re.compile(r"[\ufffd\ud800-\udfff]")


def clean_question(raw: str, max_chars: int) -> str:
    """Strip control characters and invisible marks; reject empty, junk and over-long input."""
    if not isinstance(raw, str):
        raise InputError("问题必须是文本。")
    junk = len(_JUNK.findall(raw))
    text = _JUNK.sub("", _CONTROL.sub("", raw))
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text).strip()
    if junk and junk >= max(3, len(raw) // 5):
        raise InputError("无法识别的输入:内容含有大量乱码或二进制数据,请用文字描述您的问题。")
    if not text:
        raise InputError("问题不能为空,请输入您想咨询的售后问题。")
    if len(text) > max_chars:
        raise TooLongError(f"问题过长(共 {len(text)} 字,上限 {max_chars} 字),请精简后再问。")
    return text
