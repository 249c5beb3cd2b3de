"""Markdown: YAML front matter into meta, #/##/### headings start sections, pipe tables as
"列名:值" lines, "<!-- source: X -->" comments into the section's sources."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from bot.ingest.formats import FormatError
from bot.ingest.formats.base import Converted, RawSection
from bot.ingest.formats.tables import table_lines
from bot.ingest.formats.text import read_text

_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_COMMENT_RE = re.compile(r"<!--(.*?)-->", re.DOTALL)
_SOURCE_RE = re.compile(r"^\s*sources?\s*[:：]\s*(.*?)\s*$", re.DOTALL | re.IGNORECASE)
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]+)\]\(\s*([^)\s]+)[^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(.+?)\1")
_CODE_RE = re.compile(r"`([^`]+)`")
_BULLET_RE = re.compile(r"^(\s*)[*+]\s+")
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?")
_PIPE_RE = re.compile(r"(?<!\\)\|")


def _front_matter(path: Path, lines: list[str]) -> tuple[dict, int]:
    """The front matter's mapping and the index of the first body line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise FormatError(path, "front matter opened on line 1 is never closed with ---")
    import yaml

    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for the opening ---, +1 1-based
        problem = getattr(e, "problem", None) or str(e).split("\n")[0]
        raise FormatError(path, f"invalid front matter at line {line}: {problem}") from e
    if meta is None:
        return {}, end + 1
    if not isinstance(meta, dict):
        raise FormatError(path, "front matter at line 1 is not a mapping of key: value")
    return meta, end + 1


def _inline(line: str) -> str:
    line = _IMAGE_RE.sub(r"\1", line)
    line = _LINK_RE.sub(lambda m: _link(m.group(1), m.group(2)), line)
    line = _EMPHASIS_RE.sub(r"\2", line)
    line = _CODE_RE.sub(r"\1", line)
    return _BULLET_RE.sub(r"\1- ", _QUOTE_RE.sub("", line))


def _link(text: str, url: str) -> str:
    # A web address is worth keeping for the customer; an anchor or a relative path is not.
    return (
        f"{text} ({url})" if url.startswith(("http://", "https://")) and url not in text else text
    )


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [_inline(c.strip().replace("\\|", "|")) for c in _PIPE_RE.split(line)]


def convert(path: Path) -> Converted:
    """Read a Markdown file into front matter and sections."""
    lines = read_text(path).split("\n")
    meta, start = _front_matter(path, lines)
    # Comments go, keeping line numbers; source comments are remembered by line.
    body = "\n".join(lines[start:])
    sources_at: list[tuple[int, tuple[str, ...]]] = []

    def drop(m: re.Match) -> str:
        src = _SOURCE_RE.match(m.group(1))
        if src:
            names = tuple(s.strip() for s in re.split(r"[,，、;；]", src.group(1)) if s.strip())
            sources_at.append((start + 1 + body.count("\n", 0, m.start()), names))
        return "\n" * m.group(0).count("\n")

    lines = _COMMENT_RE.sub(drop, body).split("\n")

    title = str(meta.get("title") or "").strip()
    sections: list[list] = [["", 0, []]]  # heading, 1-based line, text lines
    tables = 0
    fence = False
    i = 0
    while i < len(lines):
        n, line = start + i + 1, lines[i]
        i += 1
        if _FENCE_RE.match(line):
            fence = not fence
            continue
        if fence:
            sections[-1][2].append(line)
            continue
        m = _HEADING_RE.match(line)
        if m and len(m.group(1)) <= 3:
            heading = _inline(m.group(2)).strip()
            if len(m.group(1)) == 1 and not title:
                title = heading
            sections.append([heading, n, []])
            continue
        if m:  # #### and deeper: a bold line inside the section
            sections[-1][2].append(_inline(m.group(2)))
            continue
        if "|" in line and i < len(lines) and "|" in lines[i] and _TABLE_SEP_RE.match(lines[i]):
            rows = [_cells(line)]
            i += 1
            while i < len(lines) and lines[i].strip() and "|" in lines[i]:
                rows.append(_cells(lines[i]))
                i += 1
            sections[-1][2].extend(table_lines(rows))
            tables += 1
            continue
        if _RULE_RE.match(line):
            continue
        if line.strip() and not sections[-1][1]:
            sections[-1][1] = n  # text before any heading starts where it starts
        sections[-1][2].append(_inline(line))

    bounds = [0] + [s[1] for s in sections[1:]] + [len(lines) + start + 1]
    found = [
        tuple(dict.fromkeys(s for at, names in sources_at if lo <= at < hi for s in names))
        for lo, hi in itertools.pairwise(bounds)
    ]
    out: list[RawSection] = []
    for k, (heading, line_no, text) in enumerate(sections):
        # A source comment above the first heading speaks for the whole file.
        srcs = found[k] or found[0]
        out.append(RawSection(heading, "\n".join(text), line=line_no, sources=srcs))
    return Converted(
        title=title or path.stem,
        sections=out,
        meta=meta,
        stats={"sections": sum(1 for s in out if s.text.strip()), "tables": tables},
    )
