"""Word .docx (python-docx): the body in document order, headings start sections, lists keep
"- ", tables as "列名:值" lines."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from bot.ingest.formats import FormatError
from bot.ingest.formats.base import Converted, RawSection
from bot.ingest.formats.tables import table_lines

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_RE = re.compile(r"^(heading|标题)\s*(\d*)$", re.IGNORECASE)
_ENCRYPTED = "password-protected (encrypted) file: remove the password and save it again"


def _open(path: Path):
    head = path.read_bytes()[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes():
            raise FormatError(path, _ENCRYPTED)
        raise FormatError(
            path, "an old Word .doc file, not .docx: open it in Word and save as .docx"
        )
    if not head.startswith(b"PK"):
        raise FormatError(path, "corrupt or not a Word .docx file")
    import docx

    try:
        return docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise FormatError(path, f"corrupt or not a Word .docx file ({type(e).__name__})") from e
    except Exception as e:  # lxml and python-docx raise many types for a broken package
        raise FormatError(path, f"corrupt or not a Word .docx file ({type(e).__name__})") from e


def _level(paragraph) -> int | None:
    """0 for Title, 1-9 for headings, None for body text."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title" or name == "标题":
            return 0
        m = _HEADING_RE.match(name)
        if m:
            return int(m.group(2) or 1)
        style = style.base_style  # "My Heading" based on Heading 2 is still a heading
    ppr = paragraph._p.pPr
    outline = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
    if outline is not None:
        try:
            return int(outline.get(f"{_W}val")) + 1
        except (TypeError, ValueError):
            return None
    return None


def _is_list(paragraph) -> bool:
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.find(f"{_W}numPr") is not None:
        return True
    name = (paragraph.style.name or "") if paragraph.style is not None else ""
    return name.lower().startswith(("list", "列表"))


def _blocks(doc):
    """Paragraphs and tables in document order, content controls opened up."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(element):
        for child in element.iterchildren():
            if child.tag == f"{_W}p":
                yield Paragraph(child, doc)
            elif child.tag == f"{_W}tbl":
                yield Table(child, doc)
            elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"):
                yield from walk(child)

    yield from walk(doc.element.body)


def _rows(table) -> list[list[str]]:
    # python-docx repeats a merged cell in every grid position it covers, across and down.
    rows = []
    for row in table.rows:
        try:
            rows.append([c.text for c in row.cells])
        except (IndexError, ValueError):  # a malformed grid: read what the XML holds
            rows.append(["".join(t.text or "" for t in tc.iter(f"{_W}t")) for tc in row._tr.tc_lst])
    return rows


def convert(path: Path) -> Converted:
    """Read a .docx into sections at its headings, tables flattened where they stand."""
    doc = _open(path)
    sections: list[tuple[str, int, list[str]]] = [("", 1, [])]
    first_title = ""
    tables = paragraphs = 0
    for k, block in enumerate(_blocks(doc), 1):
        if hasattr(block, "rows"):
            sections[-1][2].extend(table_lines(_rows(block)))
            tables += 1
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _level(block)
        if level is not None and len(text) <= 200:
            if not first_title and level <= 1:
                first_title = text
            sections.append((text, k, []))
            continue
        paragraphs += 1
        sections[-1][2].append(f"- {text}" if _is_list(block) else text)
    title = (doc.core_properties.title or "").strip() or first_title or path.stem
    out = [RawSection(h, "\n".join(lines), line=n) for h, n, lines in sections]
    return Converted(
        title=title,
        sections=out,
        stats={
            "sections": sum(1 for s in out if s.text.strip()),
            "tables": tables,
            "paragraphs": paragraphs,
        },
    )
