"""A ticket the bot has acknowledged survives its process being killed; one key, one ticket.

The writer runs in its own process (tests/tools/ticket_writer.py) and prints each ticket
id only after create() has returned, which is the moment the bot would tell a customer
"your ticket is KF-...". SIGKILL at a random moment must never lose one of those.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from bot.tickets.store import TicketStore
from tests.conftest import PYTHON, ROOT

pytestmark = pytest.mark.integration

WRITER = ROOT / "tests" / "tools" / "ticket_writer.py"
KILLS = 5  # rounds that must end in SIGKILL mid-stream
MAX_ROUNDS = 10  # a round whose writer finished before the kill does not count


def _writer(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, str(WRITER), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        **kw,
    )


def _rows(db) -> dict[str, str]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("SELECT idempotency_key, ticket_id FROM tickets"))


def _integrity(db) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA integrity_check").fetchone()[0]


def test_acknowledged_tickets_survive_sigkill(tmp_path):
    db = tmp_path / "tickets.db"
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    started = time.monotonic()
    kills = rounds = acked_total = 0
    while kills < KILLS and rounds < MAX_ROUNDS:
        rounds += 1
        proc = _writer("stream", str(db), f"r{rounds}", "1000")
        acked: list[tuple[str, str]] = []
        first = threading.Event()

        def read(proc=proc, acked=acked, first=first):
            for line in proc.stdout:
                if line.endswith("\n"):  # a torn last line was never acknowledged
                    acked.append(tuple(line.split()))
                    first.set()
            first.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert first.wait(30), "writer printed nothing"
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        reader.join(10)
        kills += proc.returncode == -signal.SIGKILL
        acked_total += len(acked)

        rows = _rows(db)
        lost = [(tid, key) for tid, key in acked if rows.get(key) != tid]
        assert lost == [], f"round {rounds} (seed {seed}): acknowledged tickets lost: {lost[:5]}"
        assert _integrity(db) == "ok"
        store = TicketStore(f"sqlite:///{db}")  # a restarted bot opens the same file
        after = store.create(
            key=f"after:{rounds}", session_id="after", category="human", summary="x", transcript=[]
        )
        assert store.get(after.ticket_id, session_id="after") is not None
        assert store.get(acked[-1][0]).summary == f"durability {acked[-1][1]}"
        store.dispose()

    elapsed = time.monotonic() - started
    assert kills >= KILLS, f"only {kills} of {rounds} writers were killed mid-stream"
    print(
        f"\ndurability: {rounds} rounds, {kills} SIGKILLs, {acked_total} acknowledged, "
        f"0 lost, {len(_rows(db))} rows, integrity ok, {elapsed:.1f}s (seed {seed})"
    )


def test_one_key_from_three_processes_gives_one_ticket(tmp_path):
    db = tmp_path / "tickets.db"  # fresh: the processes also race to create the schema
    procs = [_writer("once", str(db), "s1:0", stdin=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # release them together
        p.stdin.write("go\n")
        p.stdin.flush()
    ids = [p.communicate(timeout=30)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(ids)) == 1 and ids[0].startswith("KF-")
    assert _rows(db) == {"s1:0": ids[0]}


def test_one_key_from_three_threads_gives_one_ticket(tmp_path):
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    results: list[str] = []
    barrier = threading.Barrier(3)

    def worker():
        store = TicketStore(url)  # each its own engine, as separate web workers would be
        barrier.wait()
        t = store.create(
            key="s1:0", session_id="s1", category="human", summary="我要转人工", transcript=[]
        )
        results.append(t.ticket_id)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert _rows(tmp_path / "tickets.db") == {"s1:0": results[0]}
