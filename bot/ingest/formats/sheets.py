"""FAQ sheets and tables from .xlsx (openpyxl), .xls (xlrd) and .csv (csv): one grid logic for all.

A sheet whose header names a question and an answer column is FAQ rows; any other sheet with a
header and data is a table, one "列名:值" line per row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from bot.ingest.formats import FormatError, decode_text
from bot.ingest.formats.base import Converted, RawFaq, RawSection
from bot.ingest.formats.tables import cell_text, row_facts, split_header

Grid = list[list[str]]

# Header names, normalised by _norm (lower case, no spaces, punctuation or "(必填)" notes).
QUESTION = ("标准问题", "问题", "问", "question", "q", "常见问题", "用户问题", "客户问题", "标准问")
ANSWER = ("答案", "标准答案", "回答", "答", "answer", "a", "回复", "答复", "解答")
SIMILAR = (
    "相似问题",
    "相似问法",
    "扩展问题",
    "问法",
    "similar",
    "similarquestions",
    "similarquestion",
    "indexes",
    "相似问",
    "其他问法",
    "同义问法",
)
PRODUCT = ("产品", "品牌", "产品线", "product", "brand", "产品名称", "适用产品")
CATEGORY = ("分类", "类别", "类目", "category", "topic", "问题分类", "问题类型")
UNREAD_OK = ("序号", "编号", "id", "no", "number", "")  # columns nobody misses
HEADER_SCAN = 10  # a header sits in the first rows, under a title row or two
_SIMILAR_SPLIT_RE = re.compile(r"[\n;；|]+")
_QUESTION_RE = re.compile(
    r"[?？]\s*$|吗|呢|怎么|怎样|如何|什么|多少|多久|哪|为何|为什么|是否|能否|可否|可以|能不能|有没有|^(how|what|why|when|where|can|do|does|is|are)\b",
    re.IGNORECASE,
)


def convert(path: Path) -> Converted:
    """Read a workbook or CSV: every sheet, FAQ rows where the header says so, tables otherwise."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".csv":
        title, sheets = "", [("", _csv_grid(path, raw))]
    elif raw.startswith(b"PK"):
        title, sheets = _xlsx_grids(path)
    elif raw.startswith(b"\xd0\xcf\x11\xe0"):
        if _is_encrypted_ooxml(raw):
            raise FormatError(path, _ENCRYPTED)
        title, sheets = _xls_grids(path)
    elif raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        # Many systems export "Excel" files that are really HTML tables or tab-separated text.
        from bot.ingest.formats.html import html_grids

        title, sheets = html_grids(path, raw)
    else:
        try:
            title, sheets = "", [("", _csv_grid(path, raw))]
        except FormatError as e:
            raise FormatError(path, f"corrupt or not an Excel {path.suffix} file") from e
    return _convert_grids(path, title or path.stem, sheets)


_ENCRYPTED = "password-protected (encrypted) file: remove the password and save it again"


def _is_encrypted_ooxml(raw: bytes) -> bool:
    # An encrypted .xlsx/.docx is an OLE container holding an "EncryptedPackage" stream.
    return "EncryptedPackage".encode("utf-16-le") in raw


# ---- reading grids ------------------------------------------------------------------------


def _xlsx_grids(path: Path) -> tuple[str, list[tuple[str, Grid]]]:
    import openpyxl

    try:
        # Not read_only: merged ranges are only available on a fully loaded workbook.
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception as e:  # zip, XML and schema errors all mean the same thing to a user
        raise FormatError(path, f"corrupt or not an Excel .xlsx file ({type(e).__name__})") from e
    sheets = []
    for ws in wb.worksheets:
        grid = [
            [cell_text(v) for v in row]
            for row in ws.iter_rows(
                min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column, values_only=True
            )
        ]
        for rng in ws.merged_cells.ranges:
            _fill(grid, rng.min_row - 1, rng.max_row, rng.min_col - 1, rng.max_col)
        sheets.append((ws.title, grid))
    title = (wb.properties.title or "").strip() if wb.properties else ""
    wb.close()
    return title, sheets


def _xls_grids(path: Path) -> tuple[str, list[tuple[str, Grid]]]:
    import xlrd

    try:
        book = xlrd.open_workbook(path, formatting_info=True)
    except xlrd.XLRDError as e:
        if "encrypt" in str(e).lower():
            raise FormatError(path, _ENCRYPTED) from e
        raise FormatError(path, f"corrupt or not an Excel .xls file ({e})") from e
    except Exception:
        try:  # some generators write formatting records xlrd cannot parse: read without merges
            book = xlrd.open_workbook(path)
        except Exception as e:
            raise FormatError(
                path, f"corrupt or not an Excel .xls file ({type(e).__name__})"
            ) from e
    sheets = []
    for sh in book.sheets():
        grid = [[_xls_cell(book, sh.cell(r, c)) for c in range(sh.ncols)] for r in range(sh.nrows)]
        for rlo, rhi, clo, chi in getattr(sh, "merged_cells", []) or []:
            _fill(grid, rlo, rhi, clo, chi)
        sheets.append((sh.name, grid))
    return "", sheets


def _xls_cell(book, cell) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
        except (ValueError, OverflowError):
            return cell_text(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return cell_text(bool(cell.value))
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return cell_text(cell.value)


def _fill(grid: Grid, r0: int, r1: int, c0: int, c1: int) -> None:
    """A merged cell's value applies to every cell of its range (0-based, end exclusive)."""
    if r0 >= len(grid) or c0 >= len(grid[r0]):
        return
    value = grid[r0][c0]
    for r in range(r0, min(r1, len(grid))):
        row = grid[r]
        row.extend([""] * (c1 - len(row)))
        for c in range(c0, c1):
            row[c] = value


def _csv_grid(path: Path, raw: bytes) -> Grid:
    try:
        text = decode_text(raw)
    except ValueError as e:
        raise FormatError(path, str(e)) from e
    sample = text[:16384]
    first = next((line for line in sample.split("\n") if line.strip()), "")
    used = [d for d in ",\t;" if d in first]
    if len(used) == 1:  # the header line names one delimiter; answers may hold the others
        delimiter = used[0]
    else:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = max(",\t;", key=first.count) if used else ","
    try:
        return [
            [cell_text(c) for c in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as e:
        raise FormatError(path, f"malformed CSV: {e}") from e


# ---- turning grids into FAQ rows and tables ---------------------------------------------------


@dataclass
class _Roles:
    question: int | None
    answer: int
    similar: int | None = None
    product: int | None = None
    category: int | None = None
    unread: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).lower()
    name = re.sub(r"[(\[【].*?[)\]】]", "", name)  # "答案(必填)"
    return re.sub(r"[\s\W_]+", "", name)


def _roles(header: list[str]) -> _Roles | None:
    """Which column is what, or None when the row does not name a question and an answer."""
    norm = [_norm(h) for h in header]
    used: set[int] = set()

    def pick(names: tuple[str, ...]) -> int | None:
        for name in names:
            for i, n in enumerate(norm):
                if n == name and i not in used:
                    used.add(i)
                    return i
        return None

    if "分段内容" in norm:
        # MaxKB's export: 分段标题 is the question, its 问题 column holds the similar questions.
        answer = pick(("分段内容",))
        question = pick(("分段标题",))
        similar = pick(("问题", *SIMILAR))
        if question is None and similar is None:
            return None
    else:
        question = pick(QUESTION)
        answer = pick(ANSWER)
        if question is None or answer is None:
            return None
        similar = pick(SIMILAR)
        if similar is None and norm[question] != "问题":
            similar = pick(("问题",))  # 标准问题 + 问题: the second holds other phrasings
    roles = _Roles(question, answer, similar, pick(PRODUCT), pick(CATEGORY))
    roles.unread = [
        header[i].strip()
        for i, n in enumerate(norm)
        if i not in used and n not in UNREAD_OK and header[i].strip()
    ]
    return roles


def _split_similar(cell: str) -> list[str]:
    return [s.strip() for s in _SIMILAR_SPLIT_RE.split(cell) if s.strip()]


@dataclass
class _Out:
    faqs: list[RawFaq] = field(default_factory=list)
    sections: list[RawSection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tables: int = 0


def _convert_grids(path: Path, title: str, sheets: list[tuple[str, Grid]]) -> Converted:
    out = _Out()
    for name, grid in sheets:
        _read_sheet(name, grid, out)
    return Converted(
        title=title,
        sections=out.sections,
        faqs=out.faqs,
        stats={"rows": len(out.faqs), "sheets": len(sheets), "tables": out.tables},
        skipped=out.skipped,
    )


def _at(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _read_sheet(name: str, grid: Grid, out: _Out) -> None:
    where = f"{name} " if name else ""
    rows = [(n, r) for n, r in enumerate(grid, 1) if any(c.strip() for c in r)]
    if not rows:
        out.skipped.append(f"{name or '表格'}: 空工作表")
        return
    for k, (_, row) in enumerate(rows[:HEADER_SCAN]):
        roles = _roles(row)
        if roles is not None:
            _read_faqs(where, roles, row, rows[k + 1 :], out)
            if roles.unread:
                out.skipped.append(f"{name or '表格'}: 没有导入的列: {'、'.join(roles.unread)}")
            return
    if _two_column_qa(rows):
        cols = sorted({i for _, r in rows for i, c in enumerate(r) if c.strip()})
        roles = _Roles(cols[0], cols[1])
        body = rows[1:] if _header_like(rows) else rows
        _read_faqs(where, roles, [], body, out)
        return
    _read_table(name, rows, out)


def _read_faqs(
    where: str, roles: _Roles, header: list[str], rows: list[tuple[int, list[str]]], out: _Out
) -> None:
    group = ""  # a row merged across the sheet ("【安装】") labels the rows under it
    for n, row in rows:
        values = {c.strip() for c in row if c.strip()}
        if header and [c.strip() for c in row] == [c.strip() for c in header]:
            continue
        q, a = _at(row, roles.question), _at(row, roles.answer)
        similar = _split_similar(_at(row, roles.similar))
        if len(values) == 1 and q and q == a:
            group = q.strip("【】[]()（）<>《》 ")
            continue
        if not q and similar:
            q, similar = similar[0], similar[1:]
        if not q or not a:
            missing = "问题和答案" if not q and not a else ("答案" if q else "问题")
            out.skipped.append(f"{where}第{n}行: 缺少{missing}")
            continue
        out.faqs.append(
            RawFaq(
                question=q,
                answer=a,
                similar=tuple(dict.fromkeys(s for s in similar if s != q)),
                product=_at(row, roles.product),
                category=_at(row, roles.category) or (group if roles.category is None else ""),
                locator=f"{where}第{n}行",
                row=n,
            )
        )


def _looks_like_question(text: str) -> bool:
    return bool(_QUESTION_RE.search(text.strip()))


def _two_column_qa(rows: list[tuple[int, list[str]]]) -> bool:
    """A headerless sheet of exactly two columns (RAGFlow's Q&A layout), unless it reads as a
    plain two-column table (no question-like first cells, short second cells)."""
    cols = sorted({i for _, r in rows for i, c in enumerate(r) if c.strip()})
    if len(cols) != 2:
        return False
    firsts = [_at(r, cols[0]) for _, r in rows]
    seconds = sorted(len(_at(r, cols[1])) for _, r in rows)
    if any(_looks_like_question(q) for q in firsts):
        return True
    return seconds[len(seconds) // 2] > 10


def _header_like(rows: list[tuple[int, list[str]]]) -> bool:
    # "提问,回复" above the pairs: short labels, not a question, more rows below.
    cells = [c.strip() for c in rows[0][1] if c.strip()]
    return len(rows) > 1 and all(len(c) <= 8 and not _looks_like_question(c) for c in cells)


def _read_table(name: str, rows: list[tuple[int, list[str]]], out: _Out) -> None:
    where = f"{name} " if name else ""
    header_at = next(
        (
            k
            for k, (_, r) in enumerate(rows[:HEADER_SCAN])
            if len({c.strip() for c in r} - {""}) > 1
        ),
        None,
    )
    if header_at is None:
        # One column of notes: each row is its own line.
        lines = [" ".join(dict.fromkeys(c.strip() for c in r if c.strip())) for _, r in rows]
        first, last = rows[0][0], rows[-1][0]
    else:
        header, data = split_header([r for _, r in rows[header_at:]])
        body = rows[len(rows) - len(data) :]
        if not body:
            out.skipped.append(f"{name or '表格'}: 只有表头,没有数据")
            return
        # Title rows above the header ("2024 年保修价格表") say what the table is about.
        lines = [
            " ".join(dict.fromkeys(c.strip() for c in r if c.strip())) for _, r in rows[:header_at]
        ]
        lines += [row_facts(header, r) for _, r in body if r != header]
        first, last = rows[header_at][0], body[-1][0]
    out.tables += 1
    out.sections.append(
        RawSection(
            heading=name,
            text="\n".join(line for line in lines if line),
            locator=f"{where}第{first}-{last}行" if first != last else f"{where}第{first}行",
            line=first,
        )
    )
