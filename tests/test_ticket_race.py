"""One open ticket per conversation, however many workers escalate it at the same instant.

Each worker is its own process with its own TicketStore on one SQLite file, as web workers
are; a barrier releases them together at the start of every round, so each round is a race
to open the same new conversation's ticket, then to join it.

The same tests run on a real PostgreSQL server too (a throw-away cluster, tests/servers.py).
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict

import pytest

from bot.tickets.store import TicketStore

pytestmark = pytest.mark.integration

WORKERS = 4
ROUNDS = 25  # one fresh conversation per round
PER_ROUND = 3  # escalations by each worker in each round
CATEGORIES = ("human", "billing", "complaint", "safety")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh ticket database: a SQLite file, or a new database on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    return request.getfixturevalue("postgres_url")


def _turn(round_: int, worker: int, i: int) -> str:
    return f"r{round_} w{worker} #{i}"


def _escalate(url: str, worker: int, barrier, results) -> None:
    """One worker: in every round, escalate the round's conversation PER_ROUND times."""
    store = TicketStore(url)
    made, errors = [], []
    for r in range(ROUNDS):
        barrier.wait()
        for i in range(PER_ROUND):
            try:
                t = store.create(
                    key=f"race{r}:w{worker}:{i}",
                    session_id=f"race{r}",
                    category=CATEGORIES[(worker + i) % len(CATEGORIES)],
                    summary="我要转人工",
                    transcript=[{"q": _turn(r, worker, i), "outcome": "escalated"}],
                    join_open=True,
                )
                made.append((r, t.ticket_id))
            except Exception as e:  # reported to the test, which fails on any
                errors.append(f"{type(e).__name__}: {e}")
    store.dispose()
    results.put((worker, made, errors))


def test_workers_racing_on_one_conversation_open_one_ticket_and_lose_no_turn(url):
    TicketStore(url).dispose()  # the schema exists before the race; the race is on tickets
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_escalate, args=(url, w, barrier, results)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)

    errors = [e for _w, _made, errs in reports for e in errs]
    returned = defaultdict(set)  # round -> ticket ids the customers were told
    for _w, made, _errs in reports:
        for r, ticket_id in made:
            returned[r].add(ticket_id)

    store = TicketStore(url)
    tickets = store.list(limit=10_000)
    by_session = defaultdict(list)
    for t in tickets:
        by_session[t.session_id].append(t)
    duplicated = {s: len(ts) for s, ts in by_session.items() if len(ts) > 1}
    lost = 0
    for r in range(ROUNDS):
        said = [turn["q"] for t in by_session[f"race{r}"] for turn in t.transcript]
        wanted = {_turn(r, w, i) for w in range(WORKERS) for i in range(PER_ROUND)}
        lost += len(wanted - set(said))
    print(
        f"\nrace ({url.split(':')[0]}): {WORKERS} processes x {ROUNDS} conversations x {PER_ROUND} escalations: "
        f"{len(tickets)} tickets for {len(by_session)} conversations, "
        f"{len(duplicated)} conversations with more than one, {lost} turns lost, "
        f"{len(errors)} errors"
    )

    assert errors == []
    assert duplicated == {}
    assert lost == 0
    for r in range(ROUNDS):
        (ticket,) = by_session[f"race{r}"]
        assert ticket.status == "open" and returned[r] == {ticket.ticket_id}
        assert ticket.priority == 1  # the most urgent thing any worker reported: safety
        said = [turn["q"] for turn in ticket.transcript]
        assert len(said) == len(set(said)) == WORKERS * PER_ROUND


def test_a_closed_ticket_stays_closed_and_the_next_escalation_opens_a_new_one(url):
    store, other = TicketStore(url), TicketStore(url)  # two workers on one file

    def escalate(s, key, q):
        return s.create(
            key=key, session_id="s1", category="human", summary=q,
            transcript=[{"q": q}], join_open=True,
        )  # fmt: skip

    first = escalate(store, "s1:0", "转人工")
    assert escalate(other, "s1:1", "还在吗").ticket_id == first.ticket_id
    store.close(first.ticket_id)
    after = escalate(other, "s1:2", "我还是要找人工")
    assert after.ticket_id != first.ticket_id and after.transcript == [{"q": "我还是要找人工"}]
    assert escalate(store, "s1:3", "人呢").ticket_id == after.ticket_id
    closed = store.get(first.ticket_id)
    assert closed.status == "closed"
    assert [t["q"] for t in closed.transcript] == ["转人工", "还在吗"]  # nothing joined it
    assert [t.ticket_id for t in store.list(status="open")] == [after.ticket_id]


class _LateStore(TicketStore):
    """A worker whose look for the open ticket happened just before another opened it: the
    window PostgreSQL leaves open (SQLite's write lock closes it; the index holds either way)."""

    def __init__(self, url):
        super().__init__(url)
        self.looks = 0

    def _open_row(self, s, session_id, lock=False):
        self.looks += 1
        return None if self.looks == 1 else super()._open_row(s, session_id, lock)


def test_a_create_that_lost_the_race_to_open_joins_the_winner(url):
    winner = TicketStore(url).create(
        key="s1:a", session_id="s1", category="human", summary="转人工",
        transcript=[{"q": "转人工"}], join_open=True,
    )  # fmt: skip
    late = _LateStore(url)
    joined = late.create(
        key="s1:b", session_id="s1", category="safety", summary="冒烟了",
        transcript=[{"q": "冒烟了"}], join_open=True,
    )  # fmt: skip
    assert late.looks == 2  # the insert was refused by the index, then it looked again
    assert joined.ticket_id == winner.ticket_id and joined.priority == 1
    assert [t["q"] for t in joined.transcript] == ["转人工", "冒烟了"]
    assert [t.ticket_id for t in late.list()] == [winner.ticket_id]
