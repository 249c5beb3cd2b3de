"""Load test: concurrent customer sessions against POST /api/chat.

`python -m eval.load [--url URL] [--sessions 20] [--turns 10]`

Without --url it starts the server itself (`uvicorn app:app` on a free loopback port, rate
limit raised, tickets and the chat log in a temporary folder so the run leaves no trace) and
stops it afterwards. Each session is one thread with its own connection, as each customer has
their own browser, asking a sequence of real questions from eval/gold.jsonl. Figures to
report, not assertions: machines are noisy.

With a server it started, it also reports the server's CPU time per request (from /proc) and
the query-embedding cache hit rate and batch sizes (the embedder's stats line at shutdown).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from eval.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "eval" / "reports"


@dataclass
class Call:
    session: int
    turn: int
    status: int  # 0: no response (timeout, connection error)
    latency_ms: float
    server_ms: float | None = None  # the bot's own time, without HTTP and queueing
    outcome: str | None = None
    error: str | None = None


def questions() -> list[str]:
    """Single-turn questions from the gold set (multi-turn cases depend on their order)."""
    out = []
    for line in (ROOT / "eval" / "gold.jsonl").read_text("utf-8").splitlines():
        case = json.loads(line) if line.strip() else {"session": "blank"}
        if not case.get("session"):
            out.append(case["question"])
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer(str):
    """The URL of a server this process started, with its pid and what it logged at exit."""

    pid: int
    embed_stats: dict | None = None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_STATS_LINE = re.compile(r"query embedding stats (\{.*\})")


def embed_stats(log_text: str) -> dict | None:
    """The embedder's last stats line (printed when the server exits), parsed."""
    found = _STATS_LINE.findall(log_text)
    return json.loads(found[-1]) if found else None


@contextmanager
def local_server(timeout_s: float, env: dict[str, str] | None = None, workdir: Path | None = None):
    """`uvicorn app:app` in a subprocess on a free loopback port; yields its URL once /healthz
    answers 200. `env` replaces the default environment (this process's, with a high rate
    limit and throw-away tickets and chat log); `workdir` keeps server.log there. After the
    server stops, the yielded URL's `embed_stats` holds its query-embedding stats."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="kefu-load-") as tmp:
        work = Path(workdir or tmp)
        if env is None:
            env = {k: v for k, v in os.environ.items() if k != "KEFU_WEBHOOK_URL"}
            env.update(
                KEFU_RATE_LIMIT="100000/minute",
                KEFU_CHAT_LOG=str(work / "chat_log.jsonl"),
                KEFU_TICKETS_URL=f"sqlite:///{work / 'tickets.db'}",
            )
        env = {**env, "PYTHONPATH": str(ROOT)}
        log = open(work / "server.log", "w+", encoding="utf-8")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app:app",
                "--no-proxy-headers",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        served = LocalServer(url)
        served.pid = proc.pid
        try:
            wait_healthy(url, timeout_s, proc)
            yield served
        except BaseException:
            log.seek(0)
            print(log.read()[-4000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.seek(0)
            served.embed_stats = embed_stats(log.read())
            log.close()


def wait_healthy(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> dict:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            r = httpx.get(f"{url}/healthz", timeout=5)
            if r.status_code == 200:
                return r.json()
            last = r.json().get("error", r.text)
        except httpx.HTTPError as e:
            last = str(e)
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout_s:.0f}s: {last}")


def run_session(
    url: str, index: int, qs: list[str], start: threading.Barrier, timeout_s: float
) -> list[Call]:
    calls = []
    session_id = f"load-{os.getpid()}-{index}"
    with httpx.Client(base_url=url, timeout=timeout_s) as client:
        start.wait()
        for turn, q in enumerate(qs):
            t0 = time.perf_counter()
            try:
                r = client.post("/api/chat", json={"question": q, "session_id": session_id})
                ms = (time.perf_counter() - t0) * 1000
                body = (
                    r.json()
                    if r.headers.get("content-type", "").startswith("application/json")
                    else {}
                )
                calls.append(
                    Call(
                        index,
                        turn,
                        r.status_code,
                        ms,
                        body.get("latency_ms"),
                        body.get("outcome"),
                        body.get("error") if r.status_code != 200 else None,
                    )
                )
            except httpx.HTTPError as e:
                ms = (time.perf_counter() - t0) * 1000
                calls.append(Call(index, turn, 0, ms, error=f"{type(e).__name__}: {e}"))
    return calls


def load(
    url: str, sessions: int, turns: int, timeout_s: float = 60.0, pid: int | None = None
) -> dict:
    """Run `sessions` concurrent sessions of `turns` questions each; return the figures.
    With the server's `pid`, its CPU time per request is measured too."""
    pool = questions()
    health = httpx.get(f"{url}/healthz", timeout=10).json()
    # Warm the server (first-call costs of jieba and torch are not what we measure).
    with httpx.Client(base_url=url, timeout=timeout_s) as c:
        for q in pool[:5]:
            c.post("/api/chat", json={"question": q, "session_id": "load-warmup"})
    plan = [[pool[(i * turns + t) % len(pool)] for t in range(turns)] for i in range(sessions)]
    start = threading.Barrier(sessions + 1)
    results: list[list[Call]] = [[] for _ in range(sessions)]

    def worker(i: int) -> None:
        results[i] = run_session(url, i, plan[i], start, timeout_s)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    start.wait()
    cpu0 = cpu_seconds(pid) if pid else None
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1 = cpu_seconds(pid) if pid else None

    calls = [c for session in results for c in session]
    ok = [c for c in calls if c.status == 200]
    lat = [c.latency_ms for c in ok] or [0.0]
    server = [c.server_ms for c in ok if c.server_ms is not None] or [0.0]
    errors = [c for c in calls if c.status != 200]
    return {
        "url": url,
        "sessions": sessions,
        "turns": turns,
        "requests": len(calls),
        "ok": len(ok),
        "errors": len(errors),
        "errors_by_status": dict(Counter(str(c.status) for c in errors)),
        "error_samples": sorted({c.error or "" for c in errors})[:5],
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(ok) / wall, 2) if wall else 0.0,
        "latency_ms": {
            "p50": round(percentile(lat, 50), 1),
            "p95": round(percentile(lat, 95), 1),
            "p99": round(percentile(lat, 99), 1),
            "max": round(max(lat), 1),
            "mean": round(statistics.fmean(lat), 1),
        },
        "server_latency_ms": {
            "p50": round(percentile(server, 50), 1),
            "p95": round(percentile(server, 95), 1),
        },
        "server_cpu_ms_per_request": (
            round((cpu1 - cpu0) * 1000 / len(calls), 1)
            if cpu0 is not None and cpu1 is not None and calls
            else None
        ),
        "outcomes": dict(Counter(c.outcome for c in ok)),
        "server": health,
        "cpus": os.cpu_count(),
        "calls": [asdict(c) for c in calls],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="a running server (default: start one on a free local port)")
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    ap.add_argument("--turns", type=int, default=10, help="questions per session")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds to wait for /healthz"
    )
    ap.add_argument("--out", type=Path, help="result JSON (default: eval/reports/load-<time>.json)")
    args = ap.parse_args(argv)

    if args.url:
        wait_healthy(args.url.rstrip("/"), args.startup_timeout)
        result = load(args.url.rstrip("/"), args.sessions, args.turns, args.timeout)
    else:
        with local_server(args.startup_timeout) as server:
            result = load(server, args.sessions, args.turns, args.timeout, pid=server.pid)
        # Counted from the warm-up on (its 5 questions included), printed as the server exits.
        result["query_embedding"] = server.embed_stats

    out = args.out or REPORTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "calls"}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    lat = result["latency_ms"]
    emb = result.get("query_embedding") or {}
    cache = f", cache hit rate {emb['cache_hit_rate']:.1%}" if "cache_hit_rate" in emb else ""
    print(
        f"{args.sessions} sessions x {args.turns} turns: p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
        f"max {lat['max']} ms, {result['throughput_rps']} req/s, "
        f"{result['server_cpu_ms_per_request']} CPU ms/request{cache}, "
        f"{result['errors']} errors -> {out}",
        file=sys.stderr,
    )
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
