"""HTML pages (BeautifulSoup, html.parser): page chrome dropped, h1-h4 start sections, tables as
"列名:值" lines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from bot.ingest.formats import FormatError, decode_text
from bot.ingest.formats.base import Converted, RawSection
from bot.ingest.formats.tables import row_facts, table_lines

# Page chrome and machinery, not content.
_DROP = ("script", "style", "nav", "footer", "header", "aside", "noscript", "template", "svg")
_DROP += ("iframe", "object", "canvas")
# Help-centre chrome marked by class, id or role, in the words page templates use (after
# readability's "unlikely candidates"): "这篇文章对您有帮助吗? 有帮助 没帮助", breadcrumbs, share
# bars, related-article lists, cookie banners.
_CHROME = re.compile(
    r"(?:^|[\s_-])(?:feedback|helpful|rating|vote|breadcrumbs?|crumbs?|share|social|related|"
    r"recommend|comments?|cookie|gdpr|banner|sidebar|menu|toolbar|pager|pagination|"
    r"advert|ads?|sponsor|popup|modal|subscribe|newsletter|navigation|skip-link)(?:$|[\s_-])",
    re.I,
)
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HEADINGS = ("h1", "h2", "h3", "h4")
# fmt: off
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "form", "h5", "h6", "hr", "html", "li",
    "main", "ol", "p", "section", "summary", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
# fmt: on
_GB = ("gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn", "hz-gb-2312")
_META_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.IGNORECASE)
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK_WRAP_RE = re.compile(rf"(?<=[{_CJK}])[ \t\r\n\f]*\n[ \t\r\n\f]*(?=[{_CJK}])")
_WS_RE = re.compile(r"[ \t\r\n\f]+")
_BR = "\u2028"  # stands for <br> while HTML whitespace is collapsed


def decode_html(raw: bytes) -> str:
    """Decode a page: a BOM, then valid UTF-8, then its <meta charset> (GBK as GB18030)."""
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(raw)
    try:
        return raw.decode("utf-8").replace("\x00", "")
    except UnicodeDecodeError:
        pass
    m = _META_RE.search(raw[:8192])
    if m:
        charset = m.group(1).decode("ascii", "replace").lower()
        try:
            return raw.decode("gb18030" if charset in _GB else charset).replace("\x00", "")
        except (LookupError, UnicodeDecodeError):
            pass  # the page lies about its charset: detect it instead
    return decode_text(raw)


def _soup(path: Path, raw: bytes):
    from bs4 import BeautifulSoup

    try:
        text = decode_html(raw)
    except ValueError as e:
        raise FormatError(path, str(e)) from e
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_is_chrome):
        if not tag.decomposed:
            tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with(_BR)
    return soup


def _is_chrome(tag) -> bool:
    if tag.name in ("html", "body", "main", "article"):
        return False
    marks = " ".join([*tag.get("class", ()), tag.get("id") or ""])
    return bool(_CHROME.search(marks)) or tag.get("role") in _CHROME_ROLES


def _collapse(text: str) -> str:
    # HTML whitespace rules, except a source line break between two hanzi is no space at all.
    text = _WS_RE.sub(" ", _CJK_WRAP_RE.sub("", text))
    return "\n".join(line.strip() for line in text.split(_BR)).strip()


def _cell_text(cell) -> str:
    return _collapse(cell.get_text(" "))


def _grid(table) -> tuple[list[list[str]], list[list[bool]]]:
    """The table's cells with rowspan/colspan repeated, and which cells were <th>."""
    rows: list[list[str]] = []
    heads: list[list[bool]] = []
    pending: dict[int, list] = {}  # column -> [rows still spanned, text, is_th]
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's row
        row: list[str] = []
        head: list[bool] = []

        def carry(upto: int | None, row=row, head=head) -> None:
            while (upto is None and len(row) in pending) or (upto is not None and len(row) < upto):
                span = pending.get(len(row))
                if span is None:
                    row.append("")
                    head.append(False)
                    continue
                row.append(span[1])
                head.append(span[2])
                span[0] -= 1
                if span[0] <= 0:
                    del pending[len(row) - 1]

        for cell in tr.find_all(("td", "th"), recursive=False):
            carry(None)
            text = _cell_text(cell)
            colspan = _span(cell.get("colspan"))
            rowspan = _span(cell.get("rowspan"))
            for _ in range(colspan):
                if rowspan > 1:
                    pending[len(row)] = [rowspan - 1, text, cell.name == "th"]
                row.append(text)
                head.append(cell.name == "th")
        if pending:
            carry(max(pending) + 1)
        if row:
            rows.append(row)
            heads.append(head)
    return rows, heads


def _span(value) -> int:
    try:
        return max(1, min(int(str(value).strip()), 100))
    except (TypeError, ValueError):
        return 1


def _table_text(table) -> list[str]:
    rows, heads = _grid(table)
    if not rows:
        return []
    if not all(heads[0]) and all(h and h[0] and not any(h[1:]) for h in heads):
        # A key/value table: <th> down the first column.
        return [row_facts([r[0]], [" ".join(dict.fromkeys(x for x in r[1:] if x))]) for r in rows]
    marked = 0  # leading rows of <th> only: the page says they are the header
    while marked < min(2, len(rows) - 1) and heads[marked] and all(heads[marked]):
        marked += 1
    return table_lines(rows, header_rows=marked or None)


def _is_layout(table) -> bool:
    # Tables used for page layout hold other tables or headings; read them as ordinary content.
    if table.find("table") or table.find(_HEADINGS):
        return True
    rows, _ = _grid(table)
    return max((len(r) for r in rows), default=0) < 2


class _Builder:
    def __init__(self) -> None:
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self.buf: list[str] = []
        self.prefix = ""
        self.tables = 0
        self.paragraphs = 0

    def inline(self, text: str) -> None:
        self.buf.append(text)

    def flush(self) -> None:
        text = _collapse("".join(self.buf))
        self.buf = []
        if text:
            self.sections[-1][1].append(self.prefix + text)
            self.paragraphs += 1
        self.prefix = ""

    def heading(self, text: str) -> None:
        self.flush()
        self.sections.append((text, []))

    def walk(self, node) -> None:
        from bs4 import NavigableString, Tag

        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment, doctype or CDATA
                    self.inline(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _HEADINGS:
                self.heading(_cell_text(child))
            elif name == "table" and not _is_layout(child):
                self.flush()
                self.sections[-1][1].extend(_table_text(child))
                self.tables += 1
            elif name == "li":
                self.flush()
                self.prefix = "- "
                self.walk(child)
                self.flush()
            elif name == "pre":
                self.flush()
                self.sections[-1][1].append(child.get_text().replace(_BR, "\n").strip("\n"))
            elif name in _BLOCKS or name == "table":
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def convert(path: Path) -> Converted:
    """Read an HTML page into sections: chrome dropped, headings, paragraphs, lists and tables."""
    soup = _soup(path, path.read_bytes())
    title = _collapse(soup.title.get_text(" ")) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    if not title:
        h1 = soup.find("h1")
        title = _cell_text(h1) if h1 else ""
    b = _Builder()
    b.walk(soup.body or soup)
    b.flush()
    sections = [
        RawSection(heading=heading, text="\n".join(lines)) for heading, lines in b.sections if lines
    ]
    return Converted(
        title=title or path.stem,
        sections=sections,
        stats={"sections": len(sections), "tables": b.tables, "paragraphs": b.paragraphs},
    )


def html_grids(path: Path, raw: bytes) -> tuple[str, list[tuple[str, list[list[str]]]]]:
    """An "Excel" export that is really an HTML page: its tables as sheets."""
    soup = _soup(path, raw)
    title = _collapse(soup.title.get_text(" ")) if soup.title else ""
    tables = [t for t in soup.find_all("table") if not t.find("table")]
    if not tables:
        raise FormatError(path, "not an Excel file: an HTML page without tables")
    names = [f"表{i}" for i in range(1, len(tables) + 1)] if len(tables) > 1 else [""]
    return title, [(name, _grid(t)[0]) for name, t in zip(names, tables, strict=True)]
