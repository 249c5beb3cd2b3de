"""Benchmark: ingest time (cold and no-op) and warm per-question latency of batch mode.

`python -m eval.bench [--rounds 3]`: numbers to report, not assertions (machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3, help="timed passes over the questions")
    args = ap.parse_args(argv)

    from bot.factory import build_bot, build_embedder, ingest
    from bot.settings import Settings

    base = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.model_copy(
            update={"data_dir": Path(tmp), "model_cache_dir": base.models_dir}
        )
        t0 = time.perf_counter()
        embedder = build_embedder(settings)
        embedder.warm_up()
        model_load = time.perf_counter() - t0
        cold = ingest(settings, embedder=embedder, progress=False)
        noop = ingest(settings, embedder=embedder, progress=False)
        t0 = time.perf_counter()
        bot = build_bot(settings, embedder=embedder, chat_log=False)
        bot_build = time.perf_counter() - t0

        questions = [
            json.loads(x)["question"]
            for x in (ROOT / "eval" / "retrieval_50.jsonl").read_text("utf-8").splitlines()
        ]
        questions += [
            json.loads(x)["question"]
            for x in (ROOT / "eval" / "gold.jsonl").read_text("utf-8").splitlines()
            if '"session"' not in x
        ]
        for q in questions[:20]:  # warm caches (jieba, torch kernels)
            bot.ask(q, log=False)
        lat = []
        for r in range(args.rounds):
            for i, q in enumerate(questions):
                lat.append(bot.ask(q, session_id=f"bench:{r}:{i}", log=False).latency_ms)

    result = {
        "questions": len(questions),
        "rounds": args.rounds,
        "latency_ms": {
            "median": round(statistics.median(lat), 1),
            "p95": round(_pct(lat, 0.95), 1),
            "max": round(max(lat), 1),
        },
        "ingest_cold_s": round(cold.seconds, 2),
        "ingest_chunks": cold.chunks,
        "ingest_noop_s": round(noop.seconds, 2),
        "model_load_s": round(model_load, 2),
        "bot_build_s": round(bot_build, 2),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(
        f"warm latency median {result['latency_ms']['median']} ms, p95 {result['latency_ms']['p95']} ms "
        f"over {len(lat)} asks; ingest cold {cold.seconds:.1f} s ({cold.chunks} chunks), "
        f"no-op {noop.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
