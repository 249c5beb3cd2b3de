"""Every listed seed fact is in the knowledge base, under a section or FAQ citing that seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.ingest.loader import load_corpus
from tests.conftest import KNOWLEDGE, ROOT, SEEDS

FACTS = yaml.safe_load((ROOT / "tests" / "data" / "seed_facts.yaml").read_text(encoding="utf-8"))


def _texts_by_seed() -> dict[str, str]:
    corpus = load_corpus(KNOWLEDGE)
    out: dict[str, list[str]] = {}
    for d in corpus.documents:
        for s in d.sections:
            for src in s.source:
                out.setdefault(src, []).append(f"{s.heading}\n{s.text}")
    for f in corpus.faqs:
        for src in f.source:
            out.setdefault(src, []).append(f"{f.question}\n{f.answer}")
    return {k: "\n".join(v) for k, v in out.items()}


BY_SEED = _texts_by_seed()


def test_every_seed_contributes_facts():
    seeds = {f["seed"] for f in FACTS}
    assert len(seeds) == 5
    assert len(FACTS) >= 100
    if SEEDS.is_dir():
        assert seeds == {p.name for p in Path(SEEDS).glob("*.txt")}


@pytest.mark.parametrize("fact", FACTS, ids=[f"{f['seed'][:3]}:{f['fact'][:30]}" for f in FACTS])
def test_seed_fact_is_in_knowledge_with_its_source(fact):
    text = BY_SEED.get(fact["seed"], "")
    missing = [s for s in fact["expect"] if s not in text]
    assert not missing, f"{fact['fact']}: {missing} not found under source {fact['seed']}"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed articles not beside the checkout")
@pytest.mark.parametrize("fact", FACTS, ids=[f"{f['seed'][:3]}:{f['fact'][:30]}" for f in FACTS])
def test_figures_come_from_the_seed_they_cite(fact):
    # A figure in the knowledge base must really be in the article named as its source.
    from bot.guard.numbers import normalize, number_tokens

    seed = normalize((SEEDS / fact["seed"]).read_text(encoding="utf-8"))
    for s in fact["expect"]:
        for tok in number_tokens(s):
            assert tok in seed, f"{tok} from {fact['fact']} not in {fact['seed']}"
