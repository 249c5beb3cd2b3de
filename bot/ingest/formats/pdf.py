"""PDF (pdfplumber): one section per page, tables found by their ruling lines and flattened to
"列名:值" lines, the rest of the page's text around them in reading order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.formats import FormatError
from bot.ingest.formats.base import Converted, RawSection
from bot.ingest.formats.tables import cell_text, split_header, table_lines, unwrap
from bot.ingest.formats.text import looks_like_heading

# "3", "- 3 -", "第 3 页", "第3页 共10页", "3 / 10", "Page 3 of 10": page furniture, not content.
_PAGE_NO_RE = re.compile(
    r"^\W*(第?\s*\d+\s*页?(\s*[/／]\s*\d+)?(\s*共\s*\d+\s*页)?|page\s*\d+(\s*of\s*\d+)?)\W*$",
    re.IGNORECASE,
)
_CID_RE = re.compile(r"\(cid:\d+\)")
_STOP = "。！？；：!?;:"  # a line ending so is a paragraph's end
_CJK_END_RE = re.compile(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]$")
_CJK_START_RE = re.compile(r"^[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]")
_LIST_RE = re.compile(r"^\s*([-•·●▪*]|\d+[.、)）]|[(（]\d+[)）]|[一二三四五六七八九十]+、)")
_UNTITLED = ("untitled", "无标题", "(anonymous)", "(unspecified)", "anonymous")


@dataclass
class _Line:
    text: str
    top: float
    x0: float
    x1: float
    size: float


@dataclass
class _Table:
    rows: list[list[str]]
    top: float


def _open(path: Path):
    import pdfplumber

    try:
        pdf = pdfplumber.open(path)
        _ = pdf.pages  # page tree errors show up here, not at open
    except Exception as e:
        raise FormatError(path, _why(e)) from e
    return pdf


def _why(e: BaseException) -> str:
    chain, seen = [], e
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = " ".join(f"{type(x).__name__} {x}" for x in chain).lower()
    if "password" in names or "encrypt" in names:
        return (
            "password-protected PDF: remove the password (print or save without it) and try again"
        )
    return f"corrupt or not a PDF file ({type(e).__name__})"


def _title(pdf, path: Path) -> str:
    raw = (pdf.metadata or {}).get("Title") or ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    title = re.sub(r"^Microsoft (Word|PowerPoint|Excel) - ", "", str(raw)).strip()
    title = re.sub(r"\.(docx?|pptx?|xlsx?|pdf|wps)$", "", title, flags=re.IGNORECASE).strip()
    if not title or title.lower().startswith(_UNTITLED) or _CID_RE.search(title):
        return path.stem
    return title


def _fill(rows: list[list[str | None]]) -> list[list[str]]:
    """pdfplumber leaves None where a merged cell spans: across in the header, down below it."""
    out: list[list[str]] = []
    for r, row in enumerate(rows):
        filled: list[str] = []
        for c, cell in enumerate(row):
            if cell is not None:
                filled.append(unwrap(cell_text(cell)))
            elif r == 0:
                filled.append(filled[-1] if filled else "")
            else:
                filled.append(out[-1][c] if c < len(out[-1]) else "")
        out.append(filled)
    return out


def _read_page(page) -> tuple[list[_Line], list[_Table], bool]:
    """The page's text lines outside tables, its tables, and whether it has any text layer."""
    found = page.find_tables()
    boxes = [t.bbox for t in found]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    rest = page.filter(outside) if boxes else page
    lines = []
    for d in rest.extract_text_lines(return_chars=True):
        text = d["text"].strip()
        if text:
            sizes = [ch.get("size", 0) for ch in d.get("chars", ())]
            size = max(sizes) if sizes else 0
            lines.append(_Line(text, d["top"], d["x0"], d["x1"], size))
    tables = []
    for t in found:
        rows = _fill(t.extract())
        if any(any(c for c in r) for r in rows):
            tables.append(_Table(rows, t.bbox[1]))
    return lines, tables, bool(page.chars)


def _furniture(pages: list[list[_Line]]) -> set[str]:
    """Running headers and footers: the same first or last line on most pages."""
    if len(pages) < 3:
        return set()
    counts: dict[str, int] = {}
    for lines in pages:
        for key in {re.sub(r"\d+", "#", x.text) for x in (lines[:1] + lines[-1:])}:
            counts[key] = counts.get(key, 0) + 1
    return {k for k, n in counts.items() if n >= max(3, 0.6 * len(pages))}


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Join lines that a paragraph wrapped onto the next, so a sentence is not cut in two."""
    if not lines:
        return []
    right = max(x.x1 for x in lines)
    out: list[str] = []
    for k, x in enumerate(lines):
        prev = lines[k - 1] if k else None
        wrapped = (
            prev is not None
            and prev.text[-1] not in _STOP
            and prev.x1 >= right - 2 * max(prev.size, 1)
            and abs(prev.size - x.size) < 0.5
            and not _LIST_RE.match(x.text)
        )
        if wrapped and out:
            cjk = _CJK_END_RE.search(out[-1]) and _CJK_START_RE.match(x.text)
            out[-1] += ("" if cjk else " ") + x.text
        else:
            out.append(x.text)
    return out


def convert(path: Path) -> Converted:
    """Read a PDF: one section per page with its tables; scanned pages reported for OCR."""
    pdf = _open(path)
    try:
        title = _title(pdf, path)
        read = []
        try:
            for page in pdf.pages:
                read.append(_read_page(page))
        except Exception as e:  # a broken content stream part-way through
            raise FormatError(path, _why(e)) from e
    finally:
        pdf.close()

    skip_keys = _furniture([lines for lines, _, _ in read])
    sections: list[RawSection] = []
    skipped: list[str] = []
    n_tables = 0
    prev_table: _Table | None = None  # the last thing on the previous page, when a table
    header: list[str] | None = None
    for n, (lines, tables, has_chars) in enumerate(read, 1):
        lines = [
            x
            for x in lines
            if re.sub(r"\d+", "#", x.text) not in skip_keys and not _PAGE_NO_RE.match(x.text)
        ]
        text_chars = sum(len(x.text) for x in lines) + sum(
            len(c) for t in tables for r in t.rows for c in r
        )
        cids = sum(len(m) for x in lines for m in _CID_RE.findall(x.text))
        if not has_chars:
            skipped.append(f"第{n}页: 没有文字层(扫描件),需要 OCR 后再导入")
            prev_table = None
            continue
        if not text_chars:  # a blank page with only its running header or page number
            prev_table = None
            continue
        if cids > text_chars / 3:
            skipped.append(f"第{n}页: 文字无法解码(字体缺少 Unicode 映射),需要 OCR 后再导入")
            prev_table = None
            continue
        items: list[tuple[float, object]] = [(x.top, x) for x in lines]
        items += [(t.top, t) for t in tables]
        items.sort(key=lambda item: item[0])
        heading = ""
        if items and isinstance(items[0][1], _Line) and looks_like_heading(items[0][1].text):
            heading = items[0][1].text
            items = items[1:]
        out: list[str] = []
        pending: list[_Line] = []
        for k, (_, item) in enumerate(items):
            if isinstance(item, _Line):
                pending.append(item)
                continue
            out += _paragraphs(pending)
            pending = []
            ncols = len(item.rows[0]) if item.rows else 0
            continues = (
                k == 0
                and not heading
                and prev_table is not None
                and header is not None
                and ncols == len(header)
            )
            if continues:
                # A table running on from the last page, its header not repeated.
                out += table_lines(item.rows, header=header)
            else:
                rows = [r for r in item.rows if any(r)]
                header, body = split_header(rows) if len(rows) > 1 else (None, rows)
                out += table_lines(body, header=header)
            n_tables += 0 if continues else 1
        out += _paragraphs(pending)
        last = items[-1][1] if items else None
        prev_table = last if isinstance(last, _Table) else None
        if not isinstance(last, _Table):
            header = None
        text = "\n".join(out) or heading  # a cover page's title alone is still text
        sections.append(RawSection(heading, text, locator=f"第{n}页", line=n))
    if not sections and any("OCR" in s for s in skipped):
        raise FormatError(path, "no text layer on any page (scanned PDF?): needs OCR")
    return Converted(
        title=title,
        sections=sections,
        stats={"pages": len(read), "tables": n_tables},
        skipped=skipped,
    )
