"""Validate knowledge/ and sync it into the index: `python ingest.py [--quiet]`."""

import sys

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["ingest", *sys.argv[1:]]))
