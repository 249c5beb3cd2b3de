"""Write a run to eval/reports/<timestamp>/: report.md, failures.md, metrics.json, cases.jsonl, PNGs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

# Figure without pyplot: no global state, no display; PNGs are drawn by the Agg renderer.
import numpy as np
from matplotlib.figure import Figure

from eval.harness import OURS, EvalRun
from eval.metrics import Record, check_floors, failure_reasons, passes

# (label, key, format): the headline rows, in the order a support lead reads them.
HEADLINE = (
    ("pass rate (every check)", "pass_rate", "pct"),
    ("outcome accuracy", "outcome_accuracy", "pct"),
    ("key-fact accuracy (answered)", "key_fact_accuracy", "pct"),
    ("citation accuracy (answered)", "citation_accuracy", "pct"),
    ("retrieval hit@1", "hit_at_1", "pct"),
    ("retrieval hit@3", "hit_at_3", "pct"),
    ("retrieval MRR", "mrr", "f3"),
    ("escalation precision", "escalation_precision", "pct"),
    ("escalation recall", "escalation_recall", "pct"),
    ("out-of-scope refusal rate", "out_of_scope_refusal_rate", "pct"),
    ("conflict disclosure rate", "conflict_disclosure_rate", "pct"),
    ("invented numbers (count)", "invented_numbers", "int"),
    ("forbidden-pattern hits (count)", "forbidden_hits", "int"),
    ("answered share", "answered_share", "pct"),
    ("latency p50 (ms)", "latency_p50_ms", "f1"),
    ("latency p95 (ms)", "latency_p95_ms", "f1"),
)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


def fmt(value, kind: str = "pct") -> str:
    """A metric value for a table; None is n/a (no cases), never 0."""
    if value is None:
        return "n/a"
    spec = {"pct": ".1%", "f3": ".3f", "f1": ".1f", "int": "d"}[kind]
    return format(round(value) if kind == "int" else value, spec)


def _cell(text: str, limit: int = 0) -> str:
    text = " ".join(str(text).split())
    if limit and len(text) > limit:
        text = text[:limit] + "…"
    return text.replace("|", "\\|")


# -- plots -----------------------------------------------------------------------------
def plot_categories(run: EvalRun, path: Path) -> None:
    """Grouped bars: outcome accuracy per category, ours vs each baseline."""
    metrics = run.metrics
    cats = [*metrics[OURS]["by_category"], "overall"]
    systems = list(metrics)
    width = 0.8 / len(systems)
    fig = Figure(figsize=(12, 4.5))
    ax = fig.subplots()
    for i, name in enumerate(systems):
        rows = {**metrics[name]["by_category"], "overall": metrics[name]["overall"]}
        vals = [rows[c]["outcome_accuracy"] or 0 for c in cats]
        xs = [x + (i - (len(systems) - 1) / 2) * width for x in range(len(cats))]
        ax.bar(xs, vals, width, label=name, color=COLORS[i % len(COLORS)])
    ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("outcome accuracy")
    ax.set_title(f"Outcome accuracy by category ({run.split} split)")
    ax.legend(loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_calibration(cal: dict, path: Path) -> None:
    """Coverage vs accuracy over the threshold grid on dev, with the operating point marked."""
    fig = Figure(figsize=(6.5, 5))
    ax = fig.subplots()
    cloud = cal["curve"]
    ax.scatter(
        [p[0] for p in cloud],
        [p[1] for p in cloud],
        s=8,
        color="#bbbbbb",
        label="threshold grid (dev)",
    )
    front = cal["frontier"]
    ax.plot(
        [p[0] for p in front],
        [p[1] for p in front],
        "-",
        color="#1f77b4",
        label="best accuracy per coverage",
    )
    target = 1 - cal["target_max_wrong_answered"]
    ax.axhline(target, ls="--", color="#888888", lw=1, label=f"target accuracy {target:.0%}")
    for split, marker, color in (("dev", "*", "#d62728"), ("test", "D", "#2ca02c")):
        point = cal.get(split)
        if point and point["coverage"] is not None and point["accuracy"] is not None:
            ax.scatter(
                [point["coverage"]],
                [point["accuracy"]],
                s=160 if marker == "*" else 60,
                marker=marker,
                color=color,
                zorder=5,
                label=f"operating point ({split})",
            )
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("accuracy (share of answered that are right)")
    th = cal["thresholds"]
    ax.set_title(f"faq={th['faq']} answer={th['answer']} refuse={th['refuse']}", fontsize=10)
    ax.set_xlim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_latency(run: EvalRun, path: Path) -> None:
    """Per-question latency histogram (log scale: BM25 answers in microseconds), ours and baselines."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    every = [max(r.latency_ms, 1e-3) for recs in run.records.values() for r in recs]
    bins = np.geomspace(min(every), max(every) * 1.01, 50) if every else 10
    for i, (name, recs) in enumerate(run.records.items()):
        ax.hist(
            [max(r.latency_ms, 1e-3) for r in recs],
            bins=bins,
            histtype="step",
            lw=1.6,
            label=name,
            color=COLORS[i % len(COLORS)],
        )
    ax.set_xscale("log")
    p50 = run.metrics[OURS]["overall"]["latency_p50_ms"]
    p95 = run.metrics[OURS]["overall"]["latency_p95_ms"]
    if p50 is not None:
        ax.axvline(p50, color=COLORS[0], ls=":", label=f"{OURS} p50 {p50:.0f} ms")
        ax.axvline(p95, color=COLORS[0], ls="--", label=f"{OURS} p95 {p95:.0f} ms")
    ax.set_xlabel("latency per question (ms, warm)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# -- markdown ----------------------------------------------------------------------------
def headline_table(metrics: dict) -> str:
    """Ours and the baselines side by side, one metric a row."""
    names = list(metrics)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, kind in HEADLINE:
        lines.append(
            f"| {label} | "
            + " | ".join(fmt(metrics[n]["overall"][key], kind) for n in names)
            + " |"
        )
    ours = metrics[OURS]["overall"]
    lines.append(
        f"\nKey-fact accuracy is over {ours['key_fact_cases']} answered cases with key facts; "
        f"retrieval over {ours['retrieval_cases']} cases with expected sources (a turn decided "
        "before retrieval, such as a refused injection, counts as a miss)."
    )
    return "\n".join(lines)


def category_table(metrics: dict) -> str:
    """Per category: outcome accuracy and hit@1 for every system, the rest for ours."""
    names = list(metrics)
    head = (
        ["category", "n"]
        + [f"outcome {n}" for n in names]
        + [f"hit@1 {n}" for n in names]
        + [f"key facts {OURS}", f"pass {OURS}"]
    )
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for cat, ours in metrics[OURS]["by_category"].items():
        row = [cat, str(ours["cases"])]
        row += [fmt(metrics[n]["by_category"][cat]["outcome_accuracy"]) for n in names]
        row += [fmt(metrics[n]["by_category"][cat]["hit_at_1"]) for n in names]
        row += [fmt(ours["key_fact_accuracy"]), fmt(ours["pass_rate"])]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def failure_entry(r: Record) -> str:
    """One failing case, readable in under a minute."""
    facts = "; ".join(" / ".join(g) for g in r.key_facts) or "none"
    cites = ", ".join(dict.fromkeys(c["doc_id"] for c in r.citations)) or "none"
    lines = [
        f"### {r.id} · {r.category}{' · session ' + r.session if r.session else ''}",
        f"**Why:** {_cell('; '.join(failure_reasons(r)))}",
        f"- **Q:** {_cell(r.question)}",
        f"- **Expected:** {'|'.join(r.expected_outcome)} · facts: {_cell(facts)} · "
        f"sources: {', '.join(r.expected_sources) or 'none'}",
        f"- **Got:** {r.outcome} ({r.reason or '-'}, confidence {r.confidence:.2f}) · cites: {cites}",
        f"- **Answer:** {_cell(r.answer, 300) or '(empty)'}",
        "- **Top retrieved:**" + ("" if r.retrieved else " none (decided before retrieval)"),
    ]
    lines += [
        f"  {i}. `{h['doc_id']}` {h['score']:.4f} {_cell(h['text'], 80)}"
        for i, h in enumerate(r.retrieved[:3], 1)
    ]
    return "\n".join(lines)


def failures_md(run: EvalRun) -> str:
    """Every failing case of ours, then the ids the baselines fail, for comparison."""
    ours = [r for r in run.records[OURS] if not passes(r)]
    out = [
        f"# Failures: {OURS}, {run.split} split ({len(ours)} of {len(run.records[OURS])} cases)",
        "",
    ]
    out += [failure_entry(r) + "\n" for r in ours] or ["None."]
    for name, recs in run.records.items():
        if name != OURS:
            bad = [r.id for r in recs if not passes(r)]
            out.append(f"\n**{name}** fails {len(bad)} cases: {', '.join(bad) or 'none'}")
    return "\n".join(out) + "\n"


def _reason_counts(records: list[Record]) -> Counter:
    kinds = Counter()
    for r in records:
        for why in failure_reasons(r):
            kinds[why.split(" ")[0]] += 1
    return kinds


def calibration_md(cal: dict | None) -> str:
    if cal is None:
        return "Skipped (`--no-calibration`)."
    dev, refit = cal["dev"], cal["refit"]
    lines = [
        f"Target: at most {cal['target_max_wrong_answered']:.0%} wrong among answered (`bot/calibrate.py`). "
        "Single-turn cases; an answer is wrong when its outcome is not accepted or it rests on a doc "
        "outside the expected sources.",
        "",
        "| split | cases | answered (coverage) | accuracy of answered | outcome accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for split in ("dev", "test"):
        p = cal.get(split)
        if p:
            lines.append(
                f"| {split} | {p['cases']} | {p['answered']} ({fmt(p['coverage'])}) | "
                f"{fmt(p['accuracy'])} ({p['wrong_among_answered']} wrong) | {fmt(p['outcome_accuracy'])} |"
            )
    th = refit["thresholds"]
    lines += [
        "",
        f"Operating point in use: faq {cal['thresholds']['faq']}, answer {cal['thresholds']['answer']}, "
        f"refuse {cal['thresholds']['refuse']} (dev coverage {fmt(dev['coverage'])}, accuracy {fmt(dev['accuracy'])}).",
        f"A re-fit on dev now would pick faq {th['faq_threshold']}, answer {th['answer_threshold']}, "
        f"refuse {th['refuse_threshold']} (dev outcome accuracy {fmt(refit['dev']['outcome_accuracy'])}, "
        f"target met: {refit['dev']['target_met']}). Run `python -m bot calibrate` to write it.",
        "",
        "![coverage vs accuracy](coverage_accuracy.png)",
    ]
    return "\n".join(lines)


DEFINITIONS = """\
- **pass rate**: the outcome is accepted and, when answered, every key-fact group is present, an
  expected source is cited, no forbidden pattern matches and no figure is invented.
- **outcome accuracy**: the outcome is one of `expected_outcome`.
- **key-fact accuracy**: answered cases with key facts whose answer holds a variant of every group
  (case-insensitive substring).
- **hit@k / MRR**: the first expected source among the top k distinct retrieved docs.
- **escalation precision / recall**: positives are cases whose only accepted outcome is `escalated`.
- **invented numbers**: figures in the answer (citation marks and ticket ids removed) that no cited
  title or text holds (`bot.guard.numbers`); a reply without citations supports no figure.
- **forbidden hits**: `forbidden` regexes that match the answer.
- **baselines**: `vector-only` is a tutorial RAG (Chroma cosine top-k over the chunks collection);
  `bm25-only` ranks the same chunks with BM25. Both answer every question with the best chunk,
  verbatim, with no threshold, guard, brand filter or memory; a verbatim chunk cannot invent a
  figure, but it can state the wrong one (forbidden hits) or answer what it should refuse."""


def floors_md(run: EvalRun, floors: dict | None) -> str:
    if floors is None or run.split != "test":
        return "Floors (`eval/floors.json`) apply to the `test` split only."
    broken = check_floors(run.metrics[OURS]["overall"], floors)
    if not broken:
        return "All floors in `eval/floors.json` hold."
    return "**Below floor:**\n" + "\n".join(f"- {b}" for b in broken)


def report_md(run: EvalRun, floors: dict | None) -> str:
    m, meta = run.metrics, run.meta
    s = meta["settings"]
    ours = run.records[OURS]
    failing = [r for r in ours if not passes(r)]
    reasons = ", ".join(f"{k} {v}" for k, v in _reason_counts(ours).most_common()) or "none"
    baselines = ", ".join(n for n in run.records if n != OURS) or "none (`--no-baselines`)"
    return f"""# kefu eval: {run.split} split, {meta["date"]}

{meta["cases"]} gold cases from `{Path(meta["gold"]).name}`, run through `Kefu.ask` (the `bot ask --batch`
path: one bot, conversations by `session`, nothing logged, tickets to a throw-away store).
Baselines on the same chunks, index and model: {baselines}. Runtime {run.seconds:.1f} s.

| | |
|---|---|
| model | `{meta["embedding_model"]}` (fingerprint `{meta["model_fingerprint"]}`) |
| index | knowledge `{meta["knowledge_fingerprint"]}`: {meta["documents"]} documents, {meta["faqs"]} FAQs, {meta["chunks"]} chunks |
| thresholds | faq {meta["thresholds"]["faq"]}, answer {meta["thresholds"]["answer"]}, refuse {meta["thresholds"]["refuse"]}; from {meta["thresholds_source"]} |
| retrieval | top_k {s["top_k"]}, candidate_k {s["candidate_k"]}, rrf_k {s["rrf_k"]}, chunk budget {s["chunk_max_tokens"]} tokens |
| answerer | {meta["answerer"]} |
| code | git {meta["git"]} |

## Headline

{headline_table(m)}

{floors_md(run, floors)}

## By category

{category_table(m)}

![outcome accuracy by category](category_outcome_accuracy.png)

## Calibration (dev)

{calibration_md(run.calibration)}

## Latency

Warm, per question, on this machine (other processes on it slow the embedder down: compare runs
from the same machine only).

![latency histogram](latency_ms.png)

## Failures

{len(failing)} of {len(ours)} cases fail at least one check ({reasons}). Each is listed with the question,
what was expected, what came back and the top retrieved chunks in [failures.md](failures.md).

{chr(10).join(f"- `{r.id}` {r.category}: {_cell('; '.join(failure_reasons(r)), 140)}" for r in failing)}

## How the metrics are computed

{DEFINITIONS}
"""


def write_report(run: EvalRun, out_dir: Path, floors: dict | None = None) -> Path:
    """Write the whole run under out_dir/<timestamp>/ and return that folder."""
    folder = Path(out_dir) / run.started.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    plot_categories(run, folder / "category_outcome_accuracy.png")
    plot_latency(run, folder / "latency_ms.png")
    if run.calibration:
        plot_calibration(run.calibration, folder / "coverage_accuracy.png")
    cal = {k: v for k, v in (run.calibration or {}).items() if k != "curve"} or None
    metrics = {
        "meta": run.meta,
        "runtime_s": round(run.seconds, 2),
        "systems": run.metrics,
        "calibration": cal,
        "failures": {n: [r.id for r in recs if not passes(r)] for n, recs in run.records.items()},
    }
    if floors is not None and run.split == "test":
        metrics["floor_violations"] = check_floors(run.metrics[OURS]["overall"], floors)
    (folder / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as f:
        for name, recs in run.records.items():
            for r in recs:
                f.write(
                    json.dumps({"system": name, **asdict(r), "pass": passes(r)}, ensure_ascii=False)
                    + "\n"
                )
    (folder / "failures.md").write_text(failures_md(run), "utf-8")
    (folder / "report.md").write_text(report_md(run, floors), "utf-8")
    return folder
