"""Ticket priority: four levels (1 = most urgent) decided by the ticket's category.

The labels are generic. A response time is quoted to the customer only where the company
publishes one: `priority_tiers` in the profile (kefu.yaml), each cited to the document that
states it. Without one the customer is told the priority and no time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One priority level."""

    priority: int
    label_zh: str
    label_en: str


LEVELS: dict[int, Level] = {
    1: Level(1, "安全隐患", "safety hazard"),
    2: Level(2, "重大投诉", "major complaint"),
    3: Level(3, "复杂问题", "complex issue"),
    4: Level(4, "常规问题", "routine issue"),
}

# Categories come from the escalation triggers (bot/guard/scope.py) or, for turns the bot
# could not answer, from the decision reason; anything unlisted is routine.
_BY_CATEGORY = {"safety": 1, "complaint": 2, "billing": 3}


def level_for(category: str) -> Level:
    """The priority level for a ticket category (safety, complaint, billing, anything else)."""
    return LEVELS[_BY_CATEGORY.get(category.removeprefix("trigger:").strip().lower(), 4)]
