"""Benchmark: ingest time (cold and no-op) and warm per-question latency of batch mode.

`python -m eval.bench [--rounds 3]`: numbers to report, not assertions (machines are noisy).
Latency is measured in a fresh process over the freshly built index, as `bot ask --batch`
runs: querying a Chroma collection in the process that just wrote it stalls while Chroma
compacts, which no production path does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]


def _questions() -> list[str]:
    qs = [
        json.loads(x)["question"]
        for x in (ROOT / "eval" / "retrieval_50.jsonl").read_text("utf-8").splitlines()
    ]
    for line in (ROOT / "eval" / "gold.jsonl").read_text("utf-8").splitlines():
        case = json.loads(line)
        if not case.get("session"):
            qs.append(case["question"])
    return qs


def latency(rounds: int) -> dict:
    """Warm per-question latency of the bot built from the current settings."""
    from bot.factory import build_bot
    from bot.settings import Settings

    t0 = time.perf_counter()
    bot = build_bot(Settings(), chat_log=False)
    build_s = time.perf_counter() - t0
    questions = _questions()
    for q in questions[:20]:  # warm caches (jieba, torch kernels)
        bot.ask(q, log=False)
    lat = [
        bot.ask(q, session_id=f"bench:{r}:{i}", log=False).latency_ms
        for r in range(rounds)
        for i, q in enumerate(questions)
    ]
    return {
        "questions": len(questions),
        "rounds": rounds,
        "asks": len(lat),
        "bot_build_s": round(build_s, 2),
        "latency_ms": {
            "median": round(statistics.median(lat), 1),
            "p95": round(percentile(lat, 95), 1),
            "max": round(max(lat), 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3, help="timed passes over the questions")
    ap.add_argument("--latency-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.latency_only:
        print(json.dumps(latency(args.rounds)))
        return 0

    from bot.factory import build_embedder, ingest
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
        env = {**os.environ, "KEFU_DATA_DIR": tmp, "KEFU_MODEL_CACHE_DIR": str(base.models_dir)}
        child = subprocess.run(
            [sys.executable, "-m", "eval.bench", "--latency-only", "--rounds", str(args.rounds)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result = {
        **json.loads(child.stdout.strip().splitlines()[-1]),
        "ingest_cold_s": round(cold.seconds, 2),
        "ingest_chunks": cold.chunks,
        "ingest_noop_s": round(noop.seconds, 2),
        "model_load_s": round(model_load, 2),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    lat = result["latency_ms"]
    print(
        f"warm latency median {lat['median']} ms, p95 {lat['p95']} ms over {result['asks']} asks; "
        f"ingest cold {cold.seconds:.1f} s ({cold.chunks} chunks), no-op {noop.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
