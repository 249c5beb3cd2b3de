"""PII guard: find and mask mainland-China personal data (mobiles, ID cards, bank cards, IMEIs, e-mail).

Check-digit-bearing numbers (ID, bank card, IMEI) count as PII only when the check digit
is valid, so order numbers, prices and model numbers are left alone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space map one-to-one onto ASCII, so
# offsets found in the folded text are offsets in the original.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Digit runs are delimited by [0-9], not \d: \d also matches other scripts' digits.
_NOT_AFTER_DIGIT = r"(?<![0-9])"
_NOT_AFTER_GROUP = r"(?<![0-9])(?<![0-9][- ])"  # a grouped number must not continue a run

_MOBILE = re.compile(
    _NOT_AFTER_GROUP
    + r"(?P<prefix>\+?86[- ]?)?(?P<num>1[3-9][0-9](?P<sep>[- ])[0-9]{4}(?P=sep)[0-9]{4})(?![- ]?[0-9])"
    r"|" + _NOT_AFTER_DIGIT + r"(?P<prefix2>\+?86[- ]?)?(?P<num2>1[3-9][0-9]{9})(?![0-9])"
)
# Letters may follow the X ("...002X手机"): the check character already rules out chance hits.
_ID_CARD = re.compile(_NOT_AFTER_DIGIT + r"[1-8][0-9]{16}[0-9Xx](?![0-9])")
_BANK_CARD = re.compile(
    _NOT_AFTER_GROUP + r"[0-9]{4}(?:[- ][0-9]{4}){3}(?:[- ][0-9]{1,3})?(?![- ]?[0-9])"
    r"|" + _NOT_AFTER_DIGIT + r"[0-9]{16,19}(?![0-9])"
)
_IMEI = re.compile(_NOT_AFTER_DIGIT + r"[0-9]{15}(?![0-9])")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)

# Province-level prefixes of GB/T 2260, by region.
_PROVINCES = frozenset(
    str(n)
    for n in [
        *range(11, 16),  # north
        *range(21, 24),  # north-east
        *range(31, 38),  # east
        *range(41, 47),  # central-south
        *range(50, 55),  # south-west
        *range(61, 66),  # north-west
        *(71, 81, 82, 83),  # Taiwan, Hong Kong, Macao, permits for Taiwan residents
    ]
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# When two candidates cover the same span, the more specific kind wins.
_PRIORITY = {"email": 0, "id_card": 1, "mobile": 2, "imei": 3, "bank_card": 4}


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data found in a text; `value` is the text as written."""

    kind: str  # "mobile" | "id_card" | "bank_card" | "imei" | "email"
    start: int
    end: int
    value: str


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check (bank cards, IMEIs)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_card_ok(value: str, today: dt.date | None = None) -> bool:
    """True for an 18-character GB 11643-1999 resident ID: known province, real birth date, check digit."""
    v = value.upper()
    if len(v) != 18 or not v[:17].isascii() or not v[:17].isdigit() or v[:2] not in _PROVINCES:
        return False
    today = today or dt.date.today()
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= today.year or born > today:
        return False
    check = _ID_CHECK[sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=True)) % 11]
    return v[17] == check


def _digits(s: str) -> str:
    return "".join(c for c in s if "0" <= c <= "9")


def _candidates(folded: str) -> list[PiiMatch]:
    out: list[PiiMatch] = []
    if "@" in folded:
        for m in _EMAIL.finditer(folded):
            out.append(PiiMatch("email", m.start(), m.end(), m.group()))
    for m in _ID_CARD.finditer(folded):
        if id_card_ok(m.group()):
            out.append(PiiMatch("id_card", m.start(), m.end(), m.group()))
    for m in _MOBILE.finditer(folded):
        out.append(PiiMatch("mobile", m.start(), m.end(), m.group()))
    for m in _IMEI.finditer(folded):
        if luhn_ok(m.group()):
            out.append(PiiMatch("imei", m.start(), m.end(), m.group()))
    for m in _BANK_CARD.finditer(folded):
        if luhn_ok(_digits(m.group())):
            out.append(PiiMatch("bank_card", m.start(), m.end(), m.group()))
    return out


def find_pii(text: str) -> list[PiiMatch]:
    """Every piece of PII in `text`, non-overlapping, in order; longer spans win overlaps."""
    folded = text.translate(_HALF_WIDTH)
    chosen: list[PiiMatch] = []
    ranked = sorted(
        _candidates(folded), key=lambda m: (m.start - m.end, _PRIORITY[m.kind], m.start)
    )
    for m in ranked:
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return [
        PiiMatch(m.kind, m.start, m.end, text[m.start : m.end])
        for m in sorted(chosen, key=lambda m: m.start)
    ]


def _mask_one(m: PiiMatch) -> str:
    v = m.value.translate(_HALF_WIDTH)
    if m.kind == "mobile":
        found = _MOBILE.fullmatch(v)
        prefix = (found.group("prefix") or found.group("prefix2") or "") if found else ""
        d = _digits(v[len(prefix) :])
        return f"{prefix}{d[:3]}****{d[-4:]}"
    if m.kind == "id_card":
        return f"{v[:6]}********{v[-4:].upper()}"
    if m.kind == "bank_card":
        return f"**** **** **** {_digits(v)[-4:]}"
    if m.kind == "imei":
        return f"{v[:2]}{'*' * 11}{v[-2:]}"
    local, _, domain = v.partition("@")
    return f"{local[0]}***@{domain}"


def _mask_once(text: str) -> str:
    parts, pos = [], 0
    for m in find_pii(text):
        parts += [text[pos : m.start], _mask_one(m)]
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def mask_pii(text: str) -> str:
    """`text` with each piece of PII masked, keeping just enough to recognise it (138****5678)."""
    # Masking a card turns its leading digits into stars, which can free a neighbouring number
    # that was rejected for touching it; repeat until stable so mask(mask(x)) == mask(x). A mask
    # never matches again, so this settles in a pass or two; the bound is only a backstop.
    for _ in range(8):
        masked = _mask_once(text)
        if masked == text:
            break
        text = masked
    return text


def redact(obj: Any) -> Any:
    """A copy of `obj` with every string in it (nested dicts, lists, tuples) PII-masked; keys are kept."""
    if isinstance(obj, str):
        return mask_pii(obj)
    if isinstance(obj, dict):
        return {k: redact(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact(v) for v in obj)
    return obj
