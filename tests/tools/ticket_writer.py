"""Ticket writer for the durability tests, run as its own process.

python tests/tools/ticket_writer.py stream DB PREFIX COUNT
    create COUNT tickets one by one; after each create() returns, print
    "TICKET_ID KEY" and flush: a printed line is an acknowledged ticket.
python tests/tools/ticket_writer.py once DB KEY
    open the store, print "ready", wait for a line on stdin, then create the
    ticket for KEY and print its id: several of these race on one key.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.tickets.store import TicketStore


def _create(store: TicketStore, key: str):
    return store.create(
        key=key,
        session_id=key.rsplit(":", 1)[0],
        category="human",
        summary=f"durability {key}",
        transcript=[{"q": "我要转人工", "key": key}],
    )


def main(argv: list[str]) -> int:
    mode, db = argv[0], argv[1]
    store = TicketStore(f"sqlite:///{db}")
    if mode == "stream":
        prefix, count = argv[2], int(argv[3])
        for i in range(count):
            key = f"{prefix}:{i}"
            t = _create(store, key)
            sys.stdout.write(f"{t.ticket_id} {key}\n")
            sys.stdout.flush()
        return 0
    if mode == "once":
        print("ready", flush=True)
        sys.stdin.readline()
        print(_create(store, argv[2]).ticket_id, flush=True)
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
