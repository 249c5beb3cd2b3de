"""Generated PII: valid mobiles, resident IDs, bank cards, IMEIs and e-mails, in the shapes
customers type them (groups, separators, full-width digits, digit by digit, +86, "at")."""

from __future__ import annotations

import random

R = random.Random(7)


def luhn_digit(body):
    s = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return str((10 - s % 10) % 10)


def mobile():
    return R.choice(["138", "139", "150", "186", "177", "199", "147", "159", "185"]) + "".join(
        R.choice("0123456789") for _ in range(8)
    )


def idcard():
    body = (
        R.choice(["110101", "310104", "440305", "210203", "510107"])
        + f"{R.randint(1950, 2005)}{R.randint(1, 12):02d}{R.randint(1, 28):02d}"
        + f"{R.randint(0, 999):03d}"
    )
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(a) * b for a, b in zip(body, w, strict=True)) % 11]


def card():
    b = "622202" + "".join(R.choice("0123456789") for _ in range(12))
    return b + luhn_digit(b)


def imei():
    b = "86" + "".join(R.choice("0123456789") for _ in range(12))
    return b + luhn_digit(b)


FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def group(v, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(v[i : i + n])
        i += n
    if i < len(v):
        out.append(v[i:])
    return sep.join(out)


GROUPS = {
    "mobile": [(3, 4, 4), (3, 8), (4, 4, 3), (11,), (1,) * 11, (3, 3, 5), (2, 4, 5)],
    "id": [(6, 8, 4), (18,), (6, 4, 4, 4), (3, 3, 4, 4, 4), (1,) * 18, (6, 6, 6)],
    "card": [(4, 4, 4, 4, 3), (6, 13), (19,), (4,) * 4 + (3,), (1,) * 19, (6, 6, 7)],
    "imei": [(2, 6, 6, 1), (15,), (3, 3, 3, 3, 3), (1,) * 15, (5, 5, 5), (8, 7)],
}
SEPS = [" ", "-", ".", " - "]


def formats(kind, v):
    out = []
    for g in GROUPS[kind]:
        for sep in SEPS:
            if len(g) > 11 and sep != " ":
                continue
            out.append(group(v, g, sep))
    out += [v.translate(FW), group(v, GROUPS[kind][0], " ").translate(FW)]
    if kind == "mobile":
        out += [
            f"+86 {v}",
            f"+86-{v[:3]}-{v[3:7]}-{v[7:]}",
            f"({v[:3]}) {v[3:7]}-{v[7:]}",
            f"0086{v}",
        ]
    return list(dict.fromkeys(out))


def emails():
    u = R.choice(["wang.fang", "li_lei88", "zhangsan", "kefu.user"])
    d = R.choice(["qq.com", "163.com", "foxmail.com", "gmail.com"])
    n, dom = d.split(".")
    return [
        f"{u}@{d}",
        f"{u} @ {d}",
        f"{u}(at){d}",
        f"{u} at {d}",
        f"{u}[at]{d}",
        f"{u}＠{d}",
        f"{u} AT {n} dot {dom}",
        f"{u}@{n} . {dom}",
        f"{u} (at) {d}",
        f"{u}#{d}".replace("#", "@").upper(),
    ]
