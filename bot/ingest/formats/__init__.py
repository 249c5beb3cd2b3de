"""Read a support team's raw files (sheets, Word, PDF, HTML, Markdown, text) into sections and FAQ
rows. `convert` picks the converter by suffix; each converter imports its parser on first use."""

from __future__ import annotations

import codecs
import importlib
import re
from dataclasses import replace
from pathlib import Path

from bot.ingest.formats.base import Converted, RawFaq, RawSection

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Converted",
    "FormatError",
    "RawFaq",
    "RawSection",
    "clean_text",
    "convert",
    "decode_text",
]

# suffix -> converter module in this package
_CONVERTERS = {
    ".xlsx": "sheets",
    ".xls": "sheets",
    ".csv": "sheets",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".txt": "text",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_CONVERTERS)


class FormatError(Exception):
    """A file that cannot be read: unsupported, corrupt, password-protected or empty."""

    def __init__(self, path: Path | str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def convert(path: Path) -> Converted:
    """Read one file into a Converted; raise FormatError when it cannot be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CONVERTERS:
        raise FormatError(path, f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise FormatError(path, f"cannot read: {e.strerror or e}") from e
    if size == 0:
        raise FormatError(path, "empty file")
    module = importlib.import_module(f"{__name__}.{_CONVERTERS[suffix]}")
    try:
        conv: Converted = module.convert(path)
    except OSError as e:
        raise FormatError(path, f"cannot read: {e.strerror or e}") from e
    return _tidy(path, conv)


def _tidy(path: Path, conv: Converted) -> Converted:
    # One place cleans every converter's output, so all formats come out alike.
    sections = []
    for s in conv.sections:
        text = clean_text(s.text)
        if text:
            sections.append(replace(s, heading=_one_line(s.heading), text=text))
    faqs = []
    for f in conv.faqs:
        question, answer = _one_line(f.question), clean_text(f.answer)
        if not question or not answer:
            conv.skipped.append(f"{f.locator}: 缺少{'问题' if not question else '答案'}")
            continue
        similar = tuple(x for x in dict.fromkeys(_one_line(x) for x in f.similar) if x)
        faqs.append(
            replace(
                f,
                question=question,
                answer=answer,
                similar=tuple(x for x in similar if x != question),
                product=_one_line(f.product),
                category=_one_line(f.category),
            )
        )
    if not sections and not faqs:
        why = "; ".join(conv.skipped[:3])
        raise FormatError(path, "no text found" + (f" ({why})" if why else ""))
    conv.sections = sections
    conv.faqs = faqs
    conv.title = _one_line(conv.title) or path.stem
    return conv


# Control characters other than \t and \n, and invisible marks that break matching.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_BLANKS_RE = re.compile(r"\n{3,}")


def clean_text(text: str, keep_lines: bool = False) -> str:
    """Normalise line ends, drop control characters, trim lines and collapse blank runs.

    keep_lines: only the first two, so line numbers still match the file."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if keep_lines:
        return _CONTROL_RE.sub("", text)
    text = _CONTROL_RE.sub("", text.replace("\x0c", "\n")).replace("\xa0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANKS_RE.sub("\n\n", text).strip("\n").strip()


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", clean_text(text)).strip()


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(raw: bytes) -> str:
    """Decode a text file's bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GBK/GB18030."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace").replace("\x00", "")
    nuls = raw.count(b"\x00")
    if nuls and nuls * 4 > len(raw):
        # UTF-16 without a BOM: ASCII characters leave a NUL on one side of every pair.
        odd = raw[1::2].count(b"\x00")
        encoding = "utf-16-le" if odd * 2 > nuls else "utf-16-be"
        try:
            return raw.decode(encoding).replace("\x00", "")
        except UnicodeDecodeError:
            pass
    raw = raw.replace(b"\x00", b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Chinese first: charset-normalizer mistakes short GBK text for Big5 or Korean.
    gb = _try_decode(raw, "gb18030")
    if gb is not None and _looks_chinese(gb):
        return gb
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None:
        text = str(best)
        if not _looks_binary(text):
            return text
    if gb is not None and not _looks_binary(gb):
        return gb
    raise ValueError("not a text file: cannot decode it as UTF-8, UTF-16 or GBK/GB18030")


def _try_decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _looks_chinese(text: str) -> bool:
    # Most non-ASCII characters of real Chinese text are common (GB2312) hanzi or punctuation.
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return True
    common = 0
    for c in wide:
        try:
            c.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common >= 0.8 * len(wide) and not _looks_binary(text)


_BINARY_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _looks_binary(text: str) -> bool:
    bad = len(_BINARY_RE.findall(text))
    return bad > max(2, len(text) // 20)
