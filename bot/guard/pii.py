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

# Numbers are read as runs of digit groups: "138-1234-5678", "147.1299.4841", "(139) 8867-4667",
# "210203 19681202 0549", "86-279010-501678-9" or "1 3 8 1 2 …" typed digit by digit. Groups
# join when only separators stand between them; a run is split into PII wherever some of its
# consecutive groups form a valid number. Groups are [0-9] runs, not \d, which also matches
# other scripts' digits. An ID's check character X may end a group.
_GROUP = re.compile(r"[0-9]+[Xx]?")
_GAP = re.compile(r"[ \t\-.·/()]{1,3}")
_MAX_DIGITS = 21  # +86 and a mobile, or a 19-digit card: no PII is longer
_MOBILE_DIGITS = re.compile(r"(?:0086|86)?1[3-9][0-9]{9}")
# "x at qq.com" is an address only with a mail provider after it: "bought it at jd.com" is not.
_MAIL_HOSTS = r"(?:qq|163|126|yeah|foxmail|gmail|googlemail|outlook|hotmail|live|msn|sina|sohu|yahoo|icloud|aliyun|139|189|wo)\b"
_AT = rf"(?:@|\(at\)|\[at\]|\{{at\}}|\s+at\s+(?={_MAIL_HOSTS}))"
_DOT_SEP = r"(?:\.|\(dot\)|\[dot\]|\s+dot\s+)"
_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9._%+-]+)\s*{_AT}\s*"
    rf"(?P<domain>[A-Za-z0-9-]+(?:\s*{_DOT_SEP}\s*[A-Za-z0-9-]+)*"
    rf"\s*{_DOT_SEP}\s*[A-Za-z]{{2,}})(?![A-Za-z0-9-])",
    re.I,
)
_DOT = re.compile(r"\s*(?:\(dot\)|\[dot\])\s*|\s+dot\s+|\s*\.\s*", re.I)
_LANDLINE = re.compile(r"(?<![0-9])0[1-9][0-9]{1,2}[- ]?[0-9]{7,8}(?![0-9])")

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


def _kinds(digits: str) -> list[str]:
    """What a run of digits (an ID may end in X) is, most specific first: [] for none."""
    out = []
    if len(digits) == 18 and id_card_ok(digits):
        out.append("id_card")
    if not digits.isdigit():
        return out
    if _MOBILE_DIGITS.fullmatch(digits):
        out.append("mobile")
    if len(digits) == 15 and luhn_ok(digits):
        out.append("imei")
    if 16 <= len(digits) <= 19 and luhn_ok(digits):
        out.append("bank_card")
    return out


def _runs(folded: str) -> list[list[re.Match]]:
    """The digit groups of `folded`, joined into runs where only separators part them."""
    runs: list[list[re.Match]] = []
    for g in _GROUP.finditer(folded):
        if runs and _GAP.fullmatch(folded, runs[-1][-1].end(), g.start()):
            runs[-1].append(g)
        else:
            runs.append([g])
    return runs


def _numbers(folded: str) -> list[PiiMatch]:
    """Mobiles, IDs, IMEIs and cards: spans of consecutive groups of a run whose digits
    form one (the run's ends count, so a mobile's digits inside a longer run are not one)."""
    out: list[PiiMatch] = []
    for run in _runs(folded):
        for i in range(len(run)):
            digits = ""
            for j in range(i, len(run)):
                digits += run[j].group().upper()
                if len(digits) > _MAX_DIGITS or ("X" in digits[:-1]):
                    break
                start, end = run[i].start(), run[j].end()
                if digits.startswith("86") and start > 0 and folded[start - 1] == "+":
                    start -= 1
                elif start > 0 and folded[start - 1] == "(" and ")" in folded[start:end]:
                    start -= 1  # "(139) 8867-4667"
                out += [PiiMatch(k, start, end, folded[start:end]) for k in _kinds(digits)]
    return out


def _candidates(folded: str) -> list[PiiMatch]:
    out: list[PiiMatch] = []
    if "@" in folded or "at" in folded.lower():
        for m in _EMAIL.finditer(folded):
            out.append(PiiMatch("email", m.start(), m.end(), m.group()))
    return out + _numbers(folded)


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


def _mobile_prefix(v: str) -> str:
    """The "+86 " a mobile was written with, as written; "" without one."""
    d = _digits(v)
    if len(d) != 13:
        return ""
    seen = 0
    for i, ch in enumerate(v):
        seen += ch.isdigit()
        if seen == 2:
            rest = v[i + 1 :]
            return v[: i + 1] + rest[: len(rest) - len(rest.lstrip(" -"))]
    return ""


def _mask_one(m: PiiMatch) -> str:
    v = m.value.translate(_HALF_WIDTH)
    if m.kind == "mobile":
        prefix = _mobile_prefix(v)
        d = _digits(v[len(prefix) :])
        return f"{prefix}{d[:3]}****{d[-4:]}"
    if m.kind == "id_card":
        d = "".join(c for c in v.upper() if c.isdigit() or c == "X")
        return f"{d[:6]}********{d[-4:]}"
    if m.kind == "bank_card":
        return f"**** **** **** {_digits(v)[-4:]}"
    if m.kind == "imei":
        d = _digits(v)
        return f"{d[:2]}{'*' * 11}{d[-2:]}"
    _, domain = _email_parts(v)
    return f"{v[0]}***@{domain}"


def _email_parts(value: str) -> tuple[str, str]:
    """An e-mail address as found ("x (at) foxmail . com"): its name and its plain domain."""
    e = _EMAIL.fullmatch(value.translate(_HALF_WIDTH))
    return e.group("local"), _DOT.sub(".", e.group("domain"))


def contact_value(text: str) -> str | None:
    """The phone number or e-mail address a customer gave as their contact, written plainly
    ("13812345678", "name@example.com", "010-12345678"); None when the text holds none."""
    folded = text.translate(_HALF_WIDTH)
    for m in find_pii(text):
        if m.kind == "email":
            return "@".join(_email_parts(m.value)).lower()
        if m.kind == "mobile":
            return _digits(m.value)[-11:]
    landline = _LANDLINE.search(folded)
    return landline.group().replace(" ", "-") if landline else None


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
