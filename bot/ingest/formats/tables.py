"""Tables flattened the same way in every format: one line per row, "列名:值;列名:值"."""

from __future__ import annotations

import datetime as dt
import re

_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_WRAP_RE = re.compile(rf"(?<=[{_CJK}])\s*\n\s*(?=[{_CJK}])")
_SPACE_RE = re.compile(r"\s+")


def cell_text(value: object) -> str:
    """A cell's value as people read it: 10 not 10.0, dates without midnight, None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def unwrap(text: str) -> str:
    """Join a cell's wrapped lines: no space between Chinese characters, one space otherwise."""
    return _SPACE_RE.sub(" ", _WRAP_RE.sub("", text)).strip()


# A unit given once in the header ("收费(元)", "价格（元/次）") belongs to every value under it.
_UNIT = re.compile(r"^(.+?)\s*[(\uff08]\s*([^()\uff08\uff09]{1,6})\s*[)\uff09]\s*$")
_BARE_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def row_facts(header: list[str], row: list[str]) -> str:
    """One table row as one line, "列名:值;列名:值", skipping empty values and merged repeats;
    a bare number under a header that names its unit carries the unit ("收费:39元")."""
    parts: list[str] = []
    for i, value in enumerate(row):
        value = unwrap(cell_text(value))
        if not value:
            continue
        name = unwrap(cell_text(header[i])) if i < len(header) else ""
        unit = _UNIT.match(name)
        if unit and _BARE_NUMBER.match(value):
            name, value = unit.group(1), value + unit.group(2)
        part = f"{name}:{value}" if name and name != value else value
        # A horizontally merged cell shows up once per column it spans: say it once.
        if part not in parts:
            parts.append(part)
    return ";".join(parts)


def table_lines(
    rows: list[list[str]], header: list[str] | None = None, header_rows: int | None = None
) -> list[str]:
    """A table's rows as fact lines; the header is the first row (or two) unless given."""
    rows = [[cell_text(c) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if header is None:
        if len(rows) == 1:  # a lone row is its own fact
            return [row_facts([], rows[0])]
        header, rows = split_header(rows, header_rows)
    lines = []
    for r in rows:
        if [unwrap(c) for c in r] == [unwrap(cell_text(c)) for c in header]:
            continue  # the header repeated (a page break, a pasted block)
        line = row_facts(header, r)
        if line:
            lines.append(line)
    return lines


def split_header(
    rows: list[list[str]], header_rows: int | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows: one header row, or two when a merged header cell spans
    sub-headers ("保修" over "部件" and "期限") and the other header cells span both rows.

    header_rows: how many rows the file itself marks as header (HTML <th>), when it does."""
    first = rows[0]
    if len(rows) < 3 or header_rows == 1:
        return first, rows[1:]
    second = rows[1] + [""] * (len(first) - len(rows[1]))
    if header_rows and header_rows >= 2:
        return _merge_header(first, second), rows[2:]
    spanned: set[int] = set()
    for c in range(len(first) - 1):
        if first[c] and first[c] == first[c + 1] and second[c] != second[c + 1]:
            spanned |= {c, c + 1}
    if not spanned:
        return first, rows[1:]
    others = [c for c in range(len(first)) if c not in spanned]
    # Merged down, a cell outside the spans reads the same in both rows.
    if not others or not all(second[c] in ("", first[c]) for c in others):
        return first, rows[1:]
    if not any(second[c] == first[c] != "" for c in others):
        return first, rows[1:]
    return _merge_header(first, second), rows[2:]


def _merge_header(first: list[str], second: list[str]) -> list[str]:
    return [
        a if not b or a == b else (b if not a else f"{a}-{b}")
        for a, b in zip(first, second, strict=False)
    ]
