"""What every converter hands the loader: a file's sections and FAQ rows, with provenance."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawSection:
    """A piece of a document that reads on its own: one heading and the text under it.

    Tables are already flattened: one line per row, "列名:值;列名:值", so a row is a fact.
    """

    heading: str  # "" when the file has none here
    text: str
    locator: str = ""  # where a person finds it: "第2页", "表格 第3行", "" for a whole file
    line: int = 0  # 1-based line (text files), page (PDF) or row (sheets), for messages
    sources: tuple[str, ...] = ()  # only markdown's "<!-- source: X -->" comments set this


@dataclass(frozen=True)
class RawFaq:
    """One row of an FAQ sheet."""

    question: str
    answer: str
    similar: tuple[str, ...] = ()  # other phrasings of the question, one per line in the cell
    product: str = ""
    category: str = ""
    locator: str = ""  # "Sheet1 第5行"
    row: int = 0


@dataclass
class Converted:
    """One file, read: a document (sections) and/or FAQ rows, and what was read or skipped."""

    title: str  # the document's own title, else the file name without extension
    sections: list[RawSection] = field(default_factory=list)
    faqs: list[RawFaq] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # markdown front matter, as parsed
    stats: dict[str, int] = field(default_factory=dict)  # pages, tables, rows, sections, ...
    skipped: list[str] = field(default_factory=list)  # what was not read and why, for people
