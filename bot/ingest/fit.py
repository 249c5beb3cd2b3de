"""Decision thresholds fitted at ingest from the knowledge itself, for a team with no gold set.

Positives are the knowledge's own questions, asked as a customer would be: each FAQ paraphrase
with that phrasing held out of FAQ matching (as if nobody had written it down: the FAQ path),
the same paraphrase with all of its FAQ's phrasings held out (the question must then be found
in the indexed text: the retrieval path), and each FAQ question with only its own phrasing
held out. Negatives are everyday questions no after-sales
knowledge answers. The same sweep as `bot calibrate` runs over them; the result is kept within
a band around the model's calibrated defaults, since synthetic cases are easier than customers.
A team's own calibration (`bot calibrate --gold FILE`) always takes precedence over this.
"""

from __future__ import annotations

import datetime as dt

from bot.calibrate import sweep

# Ordinary questions with no after-sales subject. None names a product, a brand or a topic
# the rule-based guards catch (weather, stocks, poems), so only the thresholds can refuse them.
NEGATIVES = (
    "帮我推荐一部好看的电影",
    "红烧肉怎么做才好吃",
    "世界杯冠军是哪个国家",
    "怎么才能快速学好英语",
    "附近有什么好吃的餐厅",
    "推荐几本好看的小说",
    "怎么减肥最快",
    "高铁票在哪里买",
    "周末去哪里玩比较好",
    "考研应该怎么复习",
    "宝宝晚上总哭怎么办",
    "感冒了吃什么药",
    "猫咪不吃饭是怎么回事",
    "怎么写一份好的简历",
    "结婚要准备些什么",
    "给我讲个笑话吧",
    "一加一等于几",
    "今天是星期几",
    "哪里可以学游泳",
    "租房要注意什么",
    "Can you recommend a good movie?",
    "How do I cook rice?",
    "Who won the last football world cup?",
    "What is the capital of France?",
)
BAND = 0.03  # how far a fitted threshold may move from the calibrated default
MIN_POSITIVES = 8


def cases(corpus) -> list[tuple[dict, str | None]]:
    """(gold-like case, phrasing to hold out) pairs built from the knowledge."""
    out: list[tuple[dict, str | None]] = []
    for f in corpus.faqs:
        for i, p in enumerate(f.paraphrases[:3]):
            case = {"id": f"fit:{f.id}:{i}", "question": p, "expected_outcome": ["answered"]}
            out.append(({**case, "expected_sources": [f.doc]}, p))
            if i == 0:
                case = {**case, "id": f"fit:{f.id}:all"}
                out.append(({**case, "expected_sources": [f.doc]}, f"faq:{f.id}"))
        if not f.paraphrases:
            case = {"id": f"fit:{f.id}:q", "question": f.question, "expected_outcome": ["answered"]}
            out.append(({**case, "expected_sources": [f.doc]}, f.question))
    for i, q in enumerate(NEGATIVES):
        out.append(({"id": f"fit:neg:{i}", "question": q, "expected_outcome": ["refused"]}, None))
    return out


def _clamp(value: float, default: float) -> float:
    return round(min(default + BAND, max(default - BAND, value)), 3)


def fit(bot, defaults: dict[str, float]) -> dict | None:
    """Thresholds for this index, or None when the knowledge has too few questions to fit on."""
    pairs = cases(bot.corpus)
    positives = sum(1 for c, _ in pairs if c["expected_outcome"] == ["answered"])
    if positives < MIN_POSITIVES:
        return None
    states = [bot.prepare(c["question"], session_id=c["id"], hold_out=hold) for c, hold in pairs]
    result = sweep([c for c, _ in pairs], states)
    fitted = result["thresholds"]
    thresholds = {k: _clamp(float(v), defaults[k]) for k, v in fitted.items()}
    # The order the decision relies on: refuse <= answer.
    thresholds["answer_threshold"] = max(
        thresholds["answer_threshold"], thresholds["refuse_threshold"]
    )
    return {
        "thresholds": thresholds,
        "fit": {
            "cases": len(pairs),
            "positives": positives,
            "negatives": len(pairs) - positives,
            "unclamped": fitted,
            "band": BAND,
            "outcome_accuracy": result["dev"]["outcome_accuracy"],
        },
        "calibrated_on": {
            "knowledge": bot.corpus.fingerprint,
            "model": bot.retriever.embedder.fingerprint,
            "date": dt.date.today().isoformat(),
        },
    }
