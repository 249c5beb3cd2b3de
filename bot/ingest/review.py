"""What ingest leaves beside the index for people: the detected conflicts to review and the report."""

from __future__ import annotations

from dataclasses import asdict

import yaml

from bot.ingest.conflicts import AUTO
from bot.types import Corpus

CONFLICTS_FILE = "conflicts.detected.yaml"
REPORT_FILE = "ingest_report.txt"


def detected(corpus: Corpus) -> list[dict]:
    """The conflicts and missing values ingest found, in conflicts.yaml's own format: a reviewer
    can copy an entry there (then it is hand-written and takes precedence) or fix the source."""
    out = []
    for c in corpus.conflicts:
        if not c.id.startswith(AUTO):
            continue
        entry = {k: v for k, v in asdict(c).items() if v not in ("", (), [])}
        entry["keywords"] = list(c.keywords)
        if c.values:
            entry["values"] = [asdict(v) for v in c.values]
        if c.source:
            entry["source"] = list(c.source)
        out.append(entry)
    return out


def write_review(settings, corpus: Corpus, report) -> list[str]:
    """Write both files atomically into the data dir; return lines for the report."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    entries = detected(corpus)
    path = settings.data_dir / CONFLICTS_FILE
    body = (
        "# Conflicts and missing values found in the knowledge at ingest. Review them: fix the\n"
        "# source files, or copy an entry into the knowledge folder's conflicts.yaml.\n"
        + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False)
    )
    _replace(path, body)
    report_path = settings.data_dir / REPORT_FILE
    _replace(report_path, report.details() + "\n" + report.summary() + "\n")
    return [f"review: {path} ({len(entries)} detected), report: {report_path}"]


def _replace(path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
