"""Benchmarks: scripts of their own that print figures (never run by the tests)."""
