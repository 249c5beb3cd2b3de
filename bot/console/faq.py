"""An agent's answer, saved as an FAQ entry the next ingest picks up.

Each entry is its own YAML file under KNOWLEDGE_DIR/<console_faq_dir>, so a reviewer reads
(or deletes) one answer at a time and git shows who added what. The file is written to a
temporary name and renamed, so an ingest running at that moment sees it whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import yaml

from bot.errors import InputError

MAX_QUESTION = 300
MAX_ANSWER = 2000


def _clean(text: str, limit: int, what: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    if not text:
        raise InputError(f"{what}不能为空")
    if len(text) > limit:
        raise InputError(f"{what}最多 {limit} 个字")
    return text


def save_faq(
    folder: Path,
    *,
    ticket_id: str,
    question: str,
    answer: str,
    agent: str,
    brand: str | None = None,
    brands: tuple[str, ...] = (),
) -> Path:
    """Write one FAQ file; returns its path. InputError for an empty or over-long text."""
    question = _clean(question, MAX_QUESTION, "问题")
    answer = _clean(answer, MAX_ANSWER, "回答")
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%d%H%M%S")
    entry_id = f"agent-{ticket_id.lower()}-{stamp}"
    entry = {"id": entry_id, "question": question, "answer": answer}
    if brand and brand in brands:
        entry["brand"] = brand
    header = (
        f"# Saved from the agent console by {agent} on {now:%Y-%m-%d %H:%M} UTC, ticket "
        f"{ticket_id}.\n# Review it before the next ingest: delete this file to drop it.\n"
    )
    body = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry_id}.yaml"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".saving-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(header + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
