"""Plain text: split into sections where a blank-line-separated block opens with a heading."""

from __future__ import annotations

import re
from pathlib import Path

from bot.ingest.formats import FormatError, clean_text, decode_text
from bot.ingest.formats.base import Converted, RawSection

# Sentence punctuation: a line holding any of it is prose, not a heading.
_SENTENCE_RE = re.compile(r"[。，,；;！!？?]|[:：]\s*$")
_NUMBER_ONLY_RE = re.compile(r"^[\W\d_]*$")


def looks_like_heading(line: str, limit: int = 30) -> bool:
    """Short, no sentence punctuation, not just a number: "第三条 保修范围", "退换货政策"."""
    line = line.strip()
    return (
        0 < len(line) <= limit and not _SENTENCE_RE.search(line) and not _NUMBER_ONLY_RE.match(line)
    )


def read_text(path: Path) -> str:
    """A text file's content, decoded and cleaned; FormatError when it is not text."""
    try:
        return clean_text(decode_text(path.read_bytes()), keep_lines=True)
    except ValueError as e:
        raise FormatError(path, str(e)) from e


def convert(path: Path) -> Converted:
    """Read a .txt file: sections at blocks that open with a heading line, else one section."""
    text = read_text(path)
    blocks: list[tuple[int, list[str]]] = []  # (1-based first line, lines)
    current: list[str] | None = None
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            current = None
            continue
        if current is None:
            current = []
            blocks.append((n, current))
        current.append(line)
    sections: list[RawSection] = []
    heading, start, body = "", 1, []
    for k, (n, lines) in enumerate(blocks):
        # A short first line heads its block, or the next block when it stands alone.
        if looks_like_heading(lines[0]) and (len(lines) > 1 or k + 1 < len(blocks)):
            if body:
                sections.append(RawSection(heading, "\n".join(body), line=start))
            heading, start, body = lines[0].strip(), n, lines[1:]
        else:
            body += ([""] if body else []) + lines
    if body:
        sections.append(RawSection(heading, "\n".join(body), line=start))
    elif heading:  # a lone heading still says something
        sections.append(RawSection("", heading, line=start))
    return Converted(title=path.stem, sections=sections, stats={"sections": len(sections)})
