"""Ticket priority: four levels (1 = most urgent) decided by the ticket's category.

OPPO assigns every complaint ticket one of four priorities and answers in three
response tiers (knowledge/docs/oppo-complaint-process.md). The response times below
are copied from that document; safety has no response time there, so none is given.
"""

from __future__ import annotations

from dataclasses import dataclass

_DOC = "oppo-complaint-process"


@dataclass(frozen=True)
class Level:
    """One priority level and, where the knowledge base states one, its response time."""

    priority: int
    label_zh: str
    label_en: str
    response_zh: str | None
    response_en: str | None
    doc_id: str | None


LEVELS: dict[int, Level] = {
    1: Level(1, "安全隐患", "safety hazard", None, None, None),
    2: Level(
        2,
        "重大投诉",
        "major complaint",
        "24小时内由总部专家介入",
        "headquarters experts step in within 24 hours",
        _DOC,
    ),
    3: Level(
        3,
        "复杂问题",
        "complex issue",
        "2小时内由技术团队对接",
        "a technical team takes over within 2 hours",
        _DOC,
    ),
    4: Level(
        4,
        "常规问题",
        "routine issue",
        "30分钟内有客服介入",
        "customer service steps in within 30 minutes",
        _DOC,
    ),
}

# Categories come from the escalation triggers (bot/guard/scope.py) or, for turns the bot
# could not answer, from the decision reason; anything unlisted is routine.
_BY_CATEGORY = {"safety": 1, "complaint": 2, "billing": 3}


def level_for(category: str) -> Level:
    """The priority level for a ticket category (safety, complaint, billing, anything else)."""
    return LEVELS[_BY_CATEGORY.get(category.removeprefix("trigger:").strip().lower(), 4)]
