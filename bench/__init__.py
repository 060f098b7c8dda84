"""Benchmarks: `python -m bench` (see docs/PERFORMANCE.md)."""
