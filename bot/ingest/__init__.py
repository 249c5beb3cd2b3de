"""Ingest stage: load and validate knowledge/, chunk it, upsert it into the index."""
