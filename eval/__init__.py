"""Evaluation: gold Q&A, baselines, calibration reports and benchmarks."""
