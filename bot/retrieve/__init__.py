"""Retrieval stage: hybrid dense + BM25 search, fused, filterable by brand, FAQ-first."""
