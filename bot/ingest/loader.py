"""Load knowledge/ into typed objects, validating everything before anything is written."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from bot.errors import CorpusError
from bot.guard.numbers import normalize, number_tokens
from bot.types import (
    BRANDS,
    TOPICS,
    Conflict,
    ConflictValue,
    Corpus,
    Document,
    Faq,
    Section,
)

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")
SEED_RE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
SOURCE_COMMENT_RE = re.compile(r"^<!--\s*source:\s*(.+?)\s*-->\s*$")
KNOWLEDGE_SUFFIXES = (".md", ".yaml", ".yml")


class _LineMap(dict):
    """A YAML mapping that remembers the line it started on."""

    line = 0


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        mapping = _LineMap(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping


def knowledge_files(root: Path) -> list[Path]:
    """Every file that is part of the corpus (README files are documentation, not knowledge)."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in KNOWLEDGE_SUFFIXES and p.name.lower() != "readme.md"
    )


def fingerprint(root: Path) -> str:
    """A hash of the corpus files' paths and bytes: the index is stale when it changes."""
    h = hashlib.sha256()
    for p in knowledge_files(root):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


class _Problems:
    def __init__(self, root: Path):
        self.root = root
        self.items: list[str] = []

    def add(self, path: Path, line: int, field: str, problem: str) -> None:
        try:
            rel = path.relative_to(self.root.parent)
        except ValueError:
            rel = path
        self.items.append(f"{rel}:{line}: {field}: {problem}")


def _read_text(path: Path, problems: _Problems) -> str | None:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        problems.add(path, line, "encoding", "not valid UTF-8")
        return None
    if "\x00" in text:
        problems.add(path, text[: text.index("\x00")].count("\n") + 1, "encoding", "NUL byte")
        return None
    return text.lstrip("\ufeff")


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return list(value)
    return None


def _check_common(
    entry: dict, path: Path, line: int, problems: _Problems, fields: tuple[str, ...]
) -> bool:
    ok = True
    for f in fields:
        if f not in entry or entry[f] in (None, "", []):
            problems.add(path, line, f, "missing")
            ok = False
    if not ok:
        return False
    if not isinstance(entry["id"], str) or not ID_RE.match(entry["id"]):
        problems.add(path, line, "id", f"{entry['id']!r} must be lowercase letters, digits and '-'")
        ok = False
    if entry.get("brand") not in BRANDS:
        problems.add(
            path, line, "brand", f"{entry.get('brand')!r} is not one of {', '.join(BRANDS)}"
        )
        ok = False
    if entry.get("topic") not in TOPICS:
        problems.add(
            path, line, "topic", f"{entry.get('topic')!r} is not one of {', '.join(TOPICS)}"
        )
        ok = False
    if "source" in fields:
        sources = _str_list(entry.get("source"))
        if sources is None:
            problems.add(path, line, "source", "must be a seed file name or a list of them")
            ok = False
        else:
            for s in sources:
                if not SEED_RE.match(s):
                    problems.add(
                        path, line, "source", f"{s!r} is not a seed file name (NNN_hex16.txt)"
                    )
                    ok = False
    return ok


def _parse_doc(path: Path, problems: _Problems) -> Document | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.add(path, 1, "front matter", "file must start with a '---' front-matter block")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.add(path, 1, "front matter", "no closing '---'")
        return None
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_LineLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.add(path, (mark.line + 2) if mark else 1, "front matter", f"invalid YAML: {e}")
        return None
    if not isinstance(meta, dict):
        problems.add(path, 2, "front matter", "must be a mapping")
        return None
    fields = ("id", "title", "brand", "topic", "source", "updated")
    if not _check_common(meta, path, 2, problems, fields):
        return None
    if meta["id"] != path.stem:
        problems.add(path, 2, "id", f"{meta['id']!r} must match the file name {path.stem!r}")
    updated = meta["updated"]
    if isinstance(updated, str):
        try:
            updated = dt.date.fromisoformat(updated)
        except ValueError:
            updated = None
    if not isinstance(updated, dt.date):
        problems.add(path, 2, "updated", "must be a date YYYY-MM-DD")
        return None
    doc_sources = tuple(_str_list(meta["source"]) or ())

    sections: list[Section] = []
    heading, body, start, sec_source = "", [], end + 2, doc_sources

    def close() -> None:
        content = "\n".join(body).strip()
        if content:
            sections.append(Section(heading, content, sec_source, start))

    for i in range(end + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            close()
            heading, body, start, sec_source = line[3:].strip(), [], i + 1, doc_sources
            continue
        if line.startswith("# "):
            continue  # the document title line; the title lives in front matter
        m = SOURCE_COMMENT_RE.match(line.strip())
        if m:
            names = tuple(s.strip() for s in m.group(1).split(",") if s.strip())
            bad = [n for n in names if n not in doc_sources]
            if bad:
                problems.add(
                    path, i + 1, "source", f"{', '.join(bad)} not listed in front matter source"
                )
            sec_source = names
            continue
        body.append(line)
    close()
    if not sections:
        problems.add(path, end + 2, "body", "document has no text")
        return None
    return Document(
        id=meta["id"],
        title=str(meta["title"]).strip(),
        brand=meta["brand"],
        topic=meta["topic"],
        source=doc_sources,
        updated=updated.isoformat(),
        path=str(path),
        sections=tuple(sections),
    )


def _load_yaml_list(path: Path, problems: _Problems) -> list | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.add(path, (mark.line + 1) if mark else 1, "yaml", f"invalid YAML: {e}")
        return None
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(path, 1, "yaml", "must be a list of entries")
        return None
    return data


def _parse_faqs(path: Path, problems: _Problems) -> list[Faq]:
    out: list[Faq] = []
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        fields = ("id", "brand", "topic", "question", "paraphrases", "answer", "source", "doc")
        if not _check_common(entry, path, line, problems, fields):
            continue
        paraphrases = _str_list(entry["paraphrases"])
        if paraphrases is None or len(paraphrases) < 3:
            problems.add(path, line, "paraphrases", "needs at least 3 non-empty strings")
            continue
        if not all(isinstance(entry[f], str) for f in ("question", "answer", "doc")):
            problems.add(path, line, "question/answer/doc", "must be strings")
            continue
        out.append(
            Faq(
                id=entry["id"],
                brand=entry["brand"],
                topic=entry["topic"],
                question=entry["question"].strip(),
                paraphrases=tuple(p.strip() for p in paraphrases),
                answer=entry["answer"].strip(),
                source=tuple(_str_list(entry["source"]) or ()),
                doc=entry["doc"].strip(),
                path=str(path),
                line=line,
            )
        )
    return out


def _parse_conflicts(path: Path, problems: _Problems) -> list[Conflict]:
    out: list[Conflict] = []
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        if not _check_common(
            entry, path, line, problems, ("id", "kind", "brand", "topic", "subject")
        ):
            continue
        keywords = _str_list(entry.get("keywords"))
        if not keywords:
            problems.add(path, line, "keywords", "needs at least one keyword")
            continue
        kind = entry["kind"]
        if kind == "conflict":
            raw = entry.get("values")
            if not isinstance(raw, list) or len(raw) < 2:
                problems.add(path, line, "values", "a conflict needs at least 2 values")
                continue
            values = []
            for v in raw:
                if not isinstance(v, dict) or not all(
                    isinstance(v.get(k), str) for k in ("value", "source", "doc")
                ):
                    problems.add(
                        path,
                        getattr(v, "line", line),
                        "values",
                        "each needs value, source, doc (strings)",
                    )
                    break
                values.append(ConflictValue(str(v["value"]), v["source"], v["doc"]))
            else:
                out.append(
                    Conflict(
                        id=entry["id"],
                        kind="conflict",
                        brand=entry["brand"],
                        topic=entry["topic"],
                        subject=entry["subject"],
                        keywords=tuple(keywords),
                        values=tuple(values),
                        advice=str(entry.get("advice", "")).strip(),
                    )
                )
        elif kind == "missing":
            missing = [f for f in ("doc", "note", "how_to_find") if not entry.get(f)]
            if missing:
                problems.add(path, line, missing[0], "missing (required for kind: missing)")
                continue
            out.append(
                Conflict(
                    id=entry["id"],
                    kind="missing",
                    brand=entry["brand"],
                    topic=entry["topic"],
                    subject=entry["subject"],
                    keywords=tuple(keywords),
                    doc=entry["doc"],
                    source=tuple(_str_list(entry.get("source")) or ()),
                    note=str(entry["note"]).strip(),
                    how_to_find=str(entry["how_to_find"]).strip(),
                )
            )
        else:
            problems.add(path, line, "kind", f"{kind!r} must be 'conflict' or 'missing'")
    return out


def _parse_sources(path: Path, problems: _Problems) -> dict[str, str]:
    """sources.yaml: the seed articles' readable titles, shown with citations."""
    out: dict[str, str] = {}
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        file, title = entry.get("file"), entry.get("title")
        if not isinstance(file, str) or not SEED_RE.match(file):
            problems.add(path, line, "file", f"{file!r} is not a seed file name (NNN_hex16.txt)")
        elif not isinstance(title, str) or not title.strip():
            problems.add(path, line, "title", "missing")
        elif file in out:
            problems.add(path, line, "file", f"{file} is listed twice")
        else:
            out[file] = title.strip()
    return out


def _cross_check(
    docs: list[Document],
    faqs: list[Faq],
    conflicts: list[Conflict],
    problems: _Problems,
    broken: set[str],
) -> None:
    corpus_docs = {d.id: d for d in docs}
    seen: dict[str, str] = {}
    for item in [*docs, *faqs, *conflicts]:
        where = getattr(item, "path", "conflicts.yaml")
        if item.id in seen:
            problems.add(
                Path(where),
                getattr(item, "line", 1),
                "id",
                f"{item.id!r} also used in {seen[item.id]}",
            )
        seen.setdefault(item.id, where)
    for f in faqs:
        doc = corpus_docs.get(f.doc)
        if doc is None:
            if f.doc not in broken:
                problems.add(Path(f.path), f.line, "doc", f"{f.doc!r} is not a document id")
            continue
        # A vetted answer may only state numbers its backing document holds.
        backing = normalize(doc.text)
        for tok in number_tokens(f.answer):
            if tok not in backing:
                problems.add(
                    Path(f.path), f.line, "answer", f"number {tok!r} is not in doc {f.doc!r}"
                )
    for c in conflicts:
        for v in c.values:
            doc = corpus_docs.get(v.doc)
            if doc is None and v.doc in broken:
                continue
            if doc is None:
                problems.add(
                    problems.root / "conflicts.yaml",
                    1,
                    "values.doc",
                    f"{c.id}: {v.doc!r} is not a document id",
                )
            elif normalize(v.value) not in normalize(doc.text):
                problems.add(
                    problems.root / "conflicts.yaml",
                    1,
                    "values.value",
                    f"{c.id}: {v.value!r} does not appear in doc {v.doc!r}",
                )
        if c.kind == "missing" and c.doc not in corpus_docs and c.doc not in broken:
            problems.add(
                problems.root / "conflicts.yaml",
                1,
                "doc",
                f"{c.id}: {c.doc!r} is not a document id",
            )


def load_corpus(root: Path) -> Corpus:
    """Parse and validate knowledge/; raise CorpusError listing every problem found."""
    root = Path(root)
    problems = _Problems(root)
    if not root.is_dir():
        raise CorpusError([f"{root}: knowledge directory not found"])
    docs: list[Document] = []
    broken: set[str] = (
        set()
    )  # documents that failed to parse: references to them are not errors too
    faqs: list[Faq] = []
    conflicts: list[Conflict] = []
    source_titles: dict[str, str] = {}
    for path in knowledge_files(root):
        rel = path.relative_to(root)
        if rel.parts[0] == "docs" and path.suffix == ".md":
            doc = _parse_doc(path, problems)
            if doc is not None:
                docs.append(doc)
            else:
                broken.add(path.stem)
        elif rel.parts[0] == "faq" and path.suffix in (".yaml", ".yml"):
            faqs.extend(_parse_faqs(path, problems))
        elif rel.as_posix() == "conflicts.yaml":
            conflicts.extend(_parse_conflicts(path, problems))
        elif rel.as_posix() == "sources.yaml":
            source_titles = _parse_sources(path, problems)
        else:
            problems.add(
                path,
                1,
                "file",
                "unexpected file (docs/*.md, faq/*.yaml, conflicts.yaml, sources.yaml)",
            )
    if not docs:
        problems.add(root / "docs", 1, "docs", "no documents found")
    _cross_check(docs, faqs, conflicts, problems, broken)
    if source_titles:
        named = sorted(
            {src for d in docs for src in d.source} | {s for f in faqs for s in f.source}
        )
        for src in named:
            if src not in source_titles:
                problems.add(root / "sources.yaml", 1, "file", f"{src} has no title")
    if problems.items:
        raise CorpusError(problems.items)
    return Corpus(
        documents=tuple(docs),
        faqs=tuple(faqs),
        conflicts=tuple(conflicts),
        fingerprint=fingerprint(root),
        source_titles=source_titles,
    )
