"""Load a knowledge folder into typed objects, validating everything before anything is written.

Two kinds of file live there. kefu's own structured files (Markdown with an `id` in its front
matter, FAQ YAML, `conflicts.yaml`, `sources.yaml`, the `kefu.yaml` profile) are validated
strictly: one malformed entry stops the ingest, with `file:line: field: problem`. A team's raw
files (sheets, Word, PDF, HTML, Markdown, text) are read by the converters in
`bot/ingest/formats`; one that cannot be read is reported and skipped, never silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.errors import CorpusError
from bot.guard.numbers import normalize, number_tokens
from bot.profile import PROFILE_FILE, Product, Profile, load_profile, with_defaults
from bot.types import (
    GENERAL,
    Conflict,
    ConflictValue,
    Corpus,
    Document,
    Faq,
    Section,
)

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")
SOURCE_COMMENT_RE = re.compile(r"^<!--\s*source:\s*(.+?)\s*-->\s*$")
YAML_SUFFIXES = (".yaml", ".yml")
SPECIAL_FILES = (PROFILE_FILE, "conflicts.yaml", "sources.yaml")


class _LineMap(dict):
    """A YAML mapping that remembers the line it started on."""

    line = 0


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        mapping = _LineMap(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping


def _hidden(rel: Path) -> bool:
    # Editors' and office suites' lock and backup files ("~$FAQ.xlsx", ".~lock", "x.bak").
    return any(part.startswith((".", "~$", "~")) for part in rel.parts)


def all_files(root: Path) -> list[Path]:
    """Every file a team put in the folder (hidden files and README files aside)."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not _hidden(p.relative_to(root)) and p.name.lower() != "readme.md"
    )


def knowledge_files(root: Path) -> list[Path]:
    """The files that can be part of the corpus: structured kefu files and readable formats."""
    from bot.ingest.formats import SUPPORTED_SUFFIXES

    return [p for p in all_files(root) if p.suffix.lower() in (*SUPPORTED_SUFFIXES, *YAML_SUFFIXES)]


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
    entry: dict,
    path: Path,
    line: int,
    problems: _Problems,
    fields: tuple[str, ...],
    brands: tuple[str, ...] = (GENERAL,),
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
    if "brand" in entry and entry.get("brand") not in brands:
        problems.add(
            path,
            line,
            "brand",
            f"{entry.get('brand')!r} is not a product in {PROFILE_FILE} ({', '.join(brands)})",
        )
        ok = False
    if "topic" in entry and not (isinstance(entry["topic"], str) and entry["topic"].strip()):
        problems.add(path, line, "topic", "must be a word such as fees or warranty")
        ok = False
    if "source" in entry and _str_list(entry.get("source")) is None:
        problems.add(path, line, "source", "must be a file name or a list of them")
        ok = False
    return ok


def has_front_matter_id(raw: bytes) -> bool:
    """A Markdown file in kefu's own document format: front matter that gives an `id`."""
    if not raw.lstrip(b"\xef\xbb\xbf").startswith(b"---"):
        return False
    head = raw.split(b"\n---", 1)[0]
    return bool(re.search(rb"^id\s*:", head, re.M)) or b"\x00" in head or not _utf8(head)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_doc(path: Path, problems: _Problems, brands: tuple[str, ...]) -> Document | None:
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
    if not _check_common(meta, path, 2, problems, fields, brands):
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


def _parse_faqs(
    path: Path, rel: str, problems: _Problems, profile: Profile, brands: tuple[str, ...]
) -> list[Faq]:
    """kefu's FAQ YAML. Only id, question and answer are required: brand, topic, source and
    the backing `doc` default to what the file itself says; paraphrases are optional."""
    out: list[Faq] = []
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        fields = ("id", "question", "answer")
        if not _check_common(entry, path, line, problems, fields, brands):
            continue
        paraphrases = _str_list(entry.get("paraphrases") or [])
        if paraphrases is None:
            problems.add(path, line, "paraphrases", "must be a list of non-empty strings")
            continue
        if not all(isinstance(entry.get(f, ""), str) for f in ("question", "answer", "doc")):
            problems.add(path, line, "question/answer/doc", "must be strings")
            continue
        question, answer = entry["question"].strip(), entry["answer"].strip()
        out.append(
            Faq(
                id=entry["id"],
                brand=entry.get("brand") or detect_brand(profile, rel, question, answer),
                topic=entry.get("topic") or GENERAL,
                question=question,
                paraphrases=tuple(p.strip() for p in paraphrases),
                answer=answer,
                source=tuple(_str_list(entry.get("source")) or (rel,)),
                doc=(entry.get("doc") or rel).strip(),
                path=str(path),
                line=line,
            )
        )
    return out


def _parse_conflicts(path: Path, problems: _Problems, brands: tuple[str, ...]) -> list[Conflict]:
    out: list[Conflict] = []
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        if not _check_common(
            entry, path, line, problems, ("id", "kind", "brand", "topic", "subject"), brands
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
    """sources.yaml: the source files' readable titles, shown with citations."""
    out: dict[str, str] = {}
    for entry in _load_yaml_list(path, problems) or []:
        line = getattr(entry, "line", 1)
        if not isinstance(entry, dict):
            problems.add(path, line, "entry", "must be a mapping")
            continue
        file, title = entry.get("file"), entry.get("title")
        if not isinstance(file, str) or not file.strip():
            problems.add(path, line, "file", f"{file!r} must be a file name")
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
        if not doc.sections or f.source == (f.doc,):
            continue  # a sheet's or FAQ file's own rows: the answer is its own source
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


@dataclass
class FileReport:
    """What ingest made of one file: what was read, what was skipped and why."""

    path: str  # relative to the knowledge folder
    kind: str  # document | faq | profile | conflicts | sources | skipped | error
    read: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    error: str = ""

    def line(self) -> str:
        what = ", ".join(f"{v} {k}" for k, v in self.read.items() if v) or "-"
        head = f"{self.path}: {self.kind}: {what}"
        if self.error:
            head = f"{self.path}: NOT READ: {self.error}"
        return "\n".join([head, *(f"    skipped: {x}" for x in self.skipped)])


_GENERAL_WORDS = frozenset({"通用", "全部", "所有", "公共", "general", "all", "common", "-", "无"})


def detect_brand(profile: Profile, rel: str, title: str, text: str) -> str:
    """The product a file or row is about: named by its folder, its title, or nearly all of
    the product names in its text; otherwise it is general knowledge."""
    if len(profile.products) < 2:
        return profile.products[0].id if profile.products else GENERAL
    words = profile.brand_words()
    for part in (p.lower() for p in Path(rel).parts[:-1]):
        named = [pid for pid, ws in words.items() if part in ws]
        if len(named) == 1:
            return named[0]
    low = title.lower()
    named = [pid for pid, ws in words.items() if any(w in low for w in ws)]
    if len(named) == 1:
        return named[0]
    low = text.lower()
    counts = {pid: sum(low.count(w) for w in ws) for pid, ws in words.items()}
    best = max(counts, key=counts.get)
    total = sum(counts.values())
    return best if counts[best] >= 3 and counts[best] >= 0.8 * total else GENERAL


def _product_of(profile: Profile, value: str) -> str | None:
    """A sheet's product cell as a profile product id (None: unknown, GENERAL: all products)."""
    v = value.strip().lower()
    if not v or v in _GENERAL_WORDS:
        return GENERAL
    for pid, ws in profile.brand_words().items():
        if v in ws or any(w in v for w in ws if len(w) > 1):
            return pid
    return None


def _derived_products(converted: dict[str, object]) -> tuple[Product, ...]:
    """Without a profile, the product lines a team's FAQ sheets name in their product column."""
    names: list[str] = []
    for conv in converted.values():
        for f in getattr(conv, "faqs", ()):
            if f.product.strip() and f.product.strip().lower() not in _GENERAL_WORDS:
                names.append(f.product.strip())
    distinct = list(dict.fromkeys(names))
    if len(distinct) < 2 or len(distinct) > 12:
        return ()
    return tuple(Product(id=f"p{i}", name=n, aliases=(n,)) for i, n in enumerate(distinct, 1))


def _sections(conv, rel: str, profile: Profile) -> list[Section]:
    """A converter's sections; each table row becomes a section of its own, so a row is
    retrieved, cited and answered as the one fact it is (with its product, when it names one)."""
    from bot.ingest.chunker import is_row_fact

    out = []
    for s in conv.sections:
        sources = s.sources or (rel,)
        prose, rows = [], []
        for line in s.text.splitlines():
            (rows if is_row_fact(line) else prose).append(line)
        if "\n".join(prose).strip():
            out.append(Section(s.heading, "\n".join(prose).strip(), sources, s.line, s.locator))
        for row in rows:
            brand = detect_brand(profile, "", row, "") if len(profile.products) > 1 else ""
            out.append(
                Section(
                    s.heading,
                    row.strip(),
                    sources,
                    s.line,
                    s.locator,
                    brand="" if brand == GENERAL else brand,
                )
            )
    return out


def _raw_document(rel: str, path: Path, conv, profile: Profile) -> Document:
    meta = conv.meta or {}
    title = str(meta.get("title") or conv.title or Path(rel).stem).strip()
    text = "\n".join(s.text for s in conv.sections)
    brand = meta.get("brand") if meta.get("brand") in (*profile.product_ids, GENERAL) else None
    return Document(
        id=rel,
        title=title,
        brand=brand or detect_brand(profile, rel, title, text),
        topic=str(meta.get("topic") or GENERAL),
        source=(rel,),
        updated=str(meta.get("updated") or ""),
        path=str(path),
        sections=tuple(_sections(conv, rel, profile)),
    )


def _raw_faqs(rel: str, path: Path, conv, profile: Profile, report: FileReport) -> list[Faq]:
    out = []
    unknown: set[str] = set()
    for f in conv.faqs:
        brand = _product_of(profile, f.product) if profile.products else GENERAL
        if brand is None:
            unknown.add(f.product)
        if brand in (None, GENERAL) and profile.products:
            brand = detect_brand(profile, "", f.question, f"{f.question}\n{f.answer}")
        out.append(
            Faq(
                id=f"{rel}#{f.row or len(out) + 1}",
                brand=brand,
                topic=f.category.strip() or GENERAL,
                question=f.question.strip(),
                paraphrases=tuple(x.strip() for x in f.similar if x.strip()),
                answer=f.answer.strip(),
                source=(rel,),
                doc=rel,
                path=str(path),
                line=f.row,
                locator=f.locator,
            )
        )
    for name in sorted(unknown):
        report.skipped.append(f"产品“{name}”不在 {PROFILE_FILE} 的产品中:按问题内容归类")
    return out


def _norm_key(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def _drop_duplicates(
    root: Path, docs: list[Document], faqs: list[Faq], reports: dict[str, FileReport]
) -> tuple[list[Document], list[Faq]]:
    """The same FAQ or section in two files is kept once and reported in both, so a re-upload
    under a new name never doubles an answer."""
    seen_q: dict[str, Faq] = {}
    kept_faqs = []
    for f in faqs:
        key = _norm_key(f.question)
        first = seen_q.get(key)
        if first is None or first.path == f.path:
            seen_q.setdefault(key, f)
            kept_faqs.append(f)
            continue
        same = _norm_key(first.answer) == _norm_key(f.answer)
        first_rel = Path(first.path).relative_to(root).as_posix()
        note = f"{f.locator or f.id}: 与 {first_rel} {first.locator or first.id} 的问题重复" + (
            ",答案相同,只保留一份" if same else ",答案不同,两份都保留,请核对"
        )
        rel = Path(f.path).relative_to(root).as_posix()
        if rel in reports:
            reports[rel].skipped.append(note)
        if not same:
            kept_faqs.append(f)
    seen_s: dict[str, str] = {}
    kept_docs = []
    for d in docs:
        sections = []
        for sec in d.sections:
            key = _norm_key(sec.text)
            if len(key) >= 20 and key in seen_s and seen_s[key] != d.id:
                if d.id in reports:
                    reports[d.id].skipped.append(
                        f"{sec.locator or sec.heading or '一节'}: 与 {seen_s[key]} 的内容重复,只保留一份"
                    )
                continue
            seen_s.setdefault(key, d.id)
            sections.append(sec)
        kept_docs.append(
            replace(d, sections=tuple(sections)) if len(sections) != len(d.sections) else d
        )
    return kept_docs, kept_faqs


def load_corpus(root: Path) -> Corpus:
    """Parse and validate a knowledge folder; raise CorpusError listing every problem found in
    kefu's structured files. Raw files that cannot be read are reported in `corpus.files`."""
    from bot.ingest.formats import SUPPORTED_SUFFIXES, FormatError, convert

    root = Path(root)
    problems = _Problems(root)
    if not root.is_dir():
        raise CorpusError([f"{root}: knowledge directory not found"])
    profile = load_profile(root)
    reports: dict[str, FileReport] = {}
    converted: dict[str, object] = {}
    structured: list[tuple[str, Path]] = []
    for path in all_files(root):
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if (
            rel in SPECIAL_FILES
            or suffix in YAML_SUFFIXES
            or (suffix == ".md" and has_front_matter_id(path.read_bytes()))
        ):
            structured.append((rel, path))
        elif suffix in SUPPORTED_SUFFIXES:
            try:
                converted[rel] = convert(path)
            except FormatError as e:
                reports[rel] = FileReport(rel, "error", error=e.reason)
            except Exception as e:  # a parser's own failure on a hostile file: report, go on
                reports[rel] = FileReport(
                    rel, "error", error=f"could not read: {type(e).__name__}: {e}"
                )
        else:
            reports[rel] = FileReport(
                rel, "skipped", error=f"unsupported file type {suffix or '(none)'}"
            )

    if not profile.products:
        from dataclasses import replace as _replace

        profile = _replace(profile, products=_derived_products(converted))
    brands = (*profile.product_ids, GENERAL)

    docs: list[Document] = []
    broken: set[str] = set()  # documents that failed to parse: references to them are not errors
    faqs: list[Faq] = []
    conflicts: list[Conflict] = []
    source_titles: dict[str, str] = {}
    for rel, path in structured:
        if rel == PROFILE_FILE:
            reports[rel] = FileReport(rel, "profile", {"products": len(profile.products)})
        elif rel == "conflicts.yaml":
            conflicts.extend(_parse_conflicts(path, problems, brands))
            reports[rel] = FileReport(rel, "conflicts", {"entries": len(conflicts)})
        elif rel == "sources.yaml":
            source_titles = _parse_sources(path, problems)
            reports[rel] = FileReport(rel, "sources", {"titles": len(source_titles)})
        elif path.suffix.lower() == ".md":
            doc = _parse_doc(path, problems, brands)
            if doc is not None:
                docs.append(doc)
                reports[rel] = FileReport(rel, "document", {"sections": len(doc.sections)})
            else:
                broken.add(path.stem)
        else:
            found = _parse_faqs(path, rel, problems, profile, brands)
            faqs.extend(found)
            reports[rel] = FileReport(rel, "faq", {"entries": len(found)})
            if any(f.doc == rel for f in found):
                docs.append(_faq_file_document(rel, path))
    for rel, conv in converted.items():
        report = FileReport(rel, "document", dict(conv.stats), list(conv.skipped))
        reports[rel] = report
        doc = _raw_document(rel, root / rel, conv, profile)
        found = _raw_faqs(rel, root / rel, conv, profile, report)
        if found:
            report.kind = "faq" if not doc.sections else "document + faq"
        docs.append(doc)
        faqs.extend(found)
        source_titles.setdefault(rel, doc.title)
    if not any(d.sections for d in docs) and not faqs:
        problems.add(root, 1, "knowledge", "no documents or FAQ entries found")
    _cross_check(docs, faqs, conflicts, problems, broken)
    named = {src for d in docs for s in d.sections for src in s.source}
    named |= {src for d in docs for src in d.source} | {s for f in faqs for s in f.source}
    for d in docs:  # a file of the folder itself is titled by its own title
        if (root / d.id).is_file():
            source_titles.setdefault(d.id, d.title)
    if (root / "sources.yaml").is_file():
        for src in sorted(named - set(source_titles)):
            problems.add(root / "sources.yaml", 1, "file", f"{src} has no title")
        for src in sorted(set(source_titles) - named):
            problems.add(root / "sources.yaml", 1, "file", f"{src} is not named as a source")
    if problems.items:
        raise CorpusError(problems.items)
    docs, faqs = _drop_duplicates(root, docs, faqs, reports)
    from bot.ingest.conflicts import detect

    # Hand-written entries come first and win; detection adds what nobody wrote down.
    conflicts += detect(docs, faqs, conflicts)
    return Corpus(
        documents=tuple(docs),
        faqs=tuple(faqs),
        conflicts=tuple(conflicts),
        fingerprint=fingerprint(root),
        source_titles=source_titles,
        files=tuple(reports[k] for k in sorted(reports)),
        profile=with_defaults(profile, [f.question for f in faqs]),
    )


def _faq_file_document(rel: str, path: Path) -> Document:
    """A stand-in document for an FAQ file whose entries name no backing document."""
    return Document(rel, Path(rel).stem, GENERAL, GENERAL, (rel,), "", str(path), ())
