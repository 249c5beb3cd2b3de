"""The company profile (`kefu.yaml` in the knowledge folder): who the bot speaks for.

Everything company-specific that is not knowledge lives here: the assistant's and company's
names, the products with the words that name them, greeting and quick replies, extra safety and
escalation words, the priority tiers a company publishes, and overrides of the fixed texts.
Without a profile the bot still works: one unnamed product line, defaults derived from the
knowledge (the FAQ questions become the suggestions, overall and per product).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.errors import CorpusError

if TYPE_CHECKING:
    from bot.types import Faq

PROFILE_FILE = "kefu.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_LANGS = ("zh", "en")


@dataclass(frozen=True)
class Product:
    """A product line or brand the team supports, and the words customers use for it."""

    id: str
    name: str
    name_en: str = ""
    aliases: tuple[str, ...] = ()  # words that name it: a question using one is about it
    hints: tuple[str, ...] = ()  # words that suggest it (its parts, consumables, features)
    suggestions: tuple[str, ...] = ()  # its quick replies (the widget with data-brand=<id>)

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class Tier:
    """A published response time for one ticket priority, cited to the document stating it."""

    priority: int
    response: str
    response_en: str = ""
    doc: str = ""  # the document whose text holds `response`
    product: str = ""  # "" = every product


@dataclass(frozen=True)
class Profile:
    assistant: str = "售后助手"
    assistant_en: str = "after-sales assistant"
    company: str = ""
    products: tuple[Product, ...] = ()
    greeting: str = ""
    suggestions: tuple[str, ...] = ()
    safety_words: tuple[str, ...] = ()
    escalation_words: tuple[str, ...] = ()
    other_brands: tuple[str, ...] = ()  # competitors to refuse, besides the built-in list
    tiers: tuple[Tier, ...] = ()
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # message key -> lang -> text
    path: str = ""

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.products)

    def product(self, product_id: str | None) -> Product | None:
        return next((p for p in self.products if p.id == product_id), None)

    def scope(self, lang: str) -> str:
        """What the bot answers about, for sentences like "I answer questions on …"."""
        names = [p.label(lang) for p in self.products]
        if names and lang == "zh":
            return "、".join(names)
        if names:
            return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        if self.company:
            return self.company + ("产品" if lang == "zh" else " products")
        return "我们产品" if lang == "zh" else "our products"

    def tier(self, priority: int, product: str | None) -> Tier | None:
        """The published response time for a priority (for this product, or for all)."""
        return next(
            (t for t in self.tiers if t.priority == priority and t.product in ("", product)),
            None,
        )

    def brand_words(self) -> dict[str, tuple[str, ...]]:
        """Product id -> lower-cased words that name it (its id, name and aliases)."""
        return {
            p.id: tuple(
                dict.fromkeys(w.lower() for w in (p.id, p.name, p.name_en, *p.aliases) if w)
            )
            for p in self.products
        }

    def hint_words(self) -> dict[str, tuple[str, ...]]:
        return {p.id: tuple(dict.fromkeys(w.lower() for w in p.hints if w)) for p in self.products}

    def vocabulary(self) -> tuple[str, ...]:
        """Every word of the profile a tokenizer should keep whole."""
        words = [self.company]
        for p in self.products:
            words += [p.name, *p.aliases, *p.hints]
        words += [*self.safety_words, *self.escalation_words]
        return tuple(dict.fromkeys(w for w in words if w and len(w) > 1))


def _strs(value, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        problems.append(f"{where}: must be a list of words")
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _text(value, where: str, problems: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        problems.append(f"{where}: must be text")
        return ""
    return str(value).strip()


def _products(raw, problems: list[str]) -> tuple[Product, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("products: must be a list")
        return ()
    out, seen = [], set()
    for i, p in enumerate(raw, 1):
        where = f"products[{i}]"
        if not isinstance(p, dict):
            problems.append(f"{where}: must be a mapping with id and name")
            continue
        pid, name = str(p.get("id", "")).strip().lower(), _text(p.get("name"), where, problems)
        if not _ID.match(pid):
            problems.append(f"{where}.id: {pid!r} must be lowercase letters, digits and '-'")
            continue
        if pid in seen or pid == "general":
            problems.append(f"{where}.id: {pid!r} is used twice or reserved")
            continue
        seen.add(pid)
        out.append(
            Product(
                id=pid,
                name=name or pid,
                name_en=_text(p.get("name_en"), where, problems),
                aliases=_strs(p.get("aliases"), f"{where}.aliases", problems),
                hints=_strs(p.get("hints"), f"{where}.hints", problems),
                suggestions=_strs(p.get("suggestions"), f"{where}.suggestions", problems),
            )
        )
    return tuple(out)


def _tiers(raw, problems: list[str]) -> tuple[Tier, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("priority_tiers: must be a list")
        return ()
    out = []
    for i, t in enumerate(raw, 1):
        where = f"priority_tiers[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("priority"), int):
            problems.append(f"{where}: needs priority (1-4) and response")
            continue
        if not 1 <= t["priority"] <= 4 or not _text(t.get("response"), where, problems):
            problems.append(f"{where}: priority must be 1-4 and response not empty")
            continue
        out.append(
            Tier(
                priority=t["priority"],
                response=_text(t.get("response"), where, problems),
                response_en=_text(t.get("response_en"), where, problems),
                doc=_text(t.get("doc"), where, problems),
                product=_text(t.get("product"), where, problems).lower(),
            )
        )
    return tuple(out)


def _texts(raw, problems: list[str]) -> dict[str, dict[str, str]]:
    from bot.messages import KEYS

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("texts: must map message keys to {zh: ..., en: ...}")
        return {}
    out = {}
    for key, value in raw.items():
        if key not in KEYS:
            problems.append(f"texts.{key}: unknown message (known: {', '.join(sorted(KEYS))})")
            continue
        if isinstance(value, str):
            value = {"zh": value}
        if not isinstance(value, dict) or not set(value) <= set(_LANGS):
            problems.append(f"texts.{key}: must be text or {{zh: ..., en: ...}}")
            continue
        out[key] = {lang: str(v) for lang, v in value.items()}
    return out


def parse_profile(data: dict, path: str = PROFILE_FILE) -> Profile:
    """A Profile from the parsed YAML mapping; raises CorpusError listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise CorpusError([f"{path}:1: profile: must be a mapping"])
    known = {
        "assistant",
        "assistant_en",
        "company",
        "products",
        "greeting",
        "suggestions",
        "safety_words",
        "escalation_words",
        "other_brands",
        "priority_tiers",
        "texts",
    }
    for key in data:
        if key not in known:
            problems.append(f"{key}: unknown field (known: {', '.join(sorted(known))})")
    profile = Profile(
        assistant=_text(data.get("assistant"), "assistant", problems) or Profile.assistant,
        assistant_en=_text(data.get("assistant_en"), "assistant_en", problems)
        or Profile.assistant_en,
        company=_text(data.get("company"), "company", problems),
        products=_products(data.get("products"), problems),
        greeting=_text(data.get("greeting"), "greeting", problems),
        suggestions=_strs(data.get("suggestions"), "suggestions", problems),
        safety_words=_strs(data.get("safety_words"), "safety_words", problems),
        escalation_words=_strs(data.get("escalation_words"), "escalation_words", problems),
        other_brands=_strs(data.get("other_brands"), "other_brands", problems),
        tiers=_tiers(data.get("priority_tiers"), problems),
        texts=_texts(data.get("texts"), problems),
        path=path,
    )
    if problems:
        raise CorpusError([f"{path}:1: {p}" for p in problems])
    return profile


def load_profile(knowledge_dir: Path) -> Profile:
    """The profile in `knowledge_dir/kefu.yaml`, or the defaults when there is none."""
    path = Path(knowledge_dir) / PROFILE_FILE
    if not path.is_file():
        return Profile()
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise CorpusError([f"{path}:{line}: profile: not valid UTF-8 YAML: {e}"]) from e
    return parse_profile(data, str(path))


def with_defaults(profile: Profile, faq_questions: list[str]) -> Profile:
    """Fill what the team left out from the knowledge itself: suggestions, greeting."""
    from dataclasses import replace

    suggestions = profile.suggestions or tuple(faq_questions[:4])
    greeting = (
        profile.greeting
        or (f"您好,我是{profile.company}{profile.assistant}," if profile.company else "您好,")
        + f"可以为您解答{profile.scope('zh')}的售后问题。"
    )
    return replace(profile, suggestions=suggestions, greeting=greeting)


def product_suggestions(
    profile: Profile, faqs: Iterable[Faq] = (), limit: int = 4
) -> dict[str, tuple[str, ...]]:
    """Product id -> its quick replies: its own `suggestions`, else questions of its FAQs.

    Derived ones take one question per FAQ topic first, so four chips ask four different
    things rather than four ways to reach the hotline. A product with neither gets the
    profile's suggestions that name no other product (maybe none).
    """
    faqs = tuple(faqs)
    words = profile.brand_words()
    out = {}
    for p in profile.products:
        if p.suggestions:
            out[p.id] = p.suggestions[:limit]
            continue
        own = [f for f in faqs if f.brand == p.id]
        rank: dict[str, int] = {}  # the n-th FAQ of a topic gets n: spread across topics
        order = []
        for i, f in enumerate(own):
            n = rank[f.topic] = rank.get(f.topic, -1) + 1
            order.append((n, i, f.question))
        derived = tuple(dict.fromkeys(q for _, _, q in sorted(order)))[:limit]
        if not derived:
            others = [w for pid, ws in words.items() if pid != p.id for w in ws]
            derived = tuple(
                s for s in profile.suggestions if not any(w in s.lower() for w in others)
            )[:limit]
        out[p.id] = derived
    return out
