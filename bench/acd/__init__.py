"""The call path under load, side by side with native Asterisk app_queue (issue #9).

`python -m bench.acd --help`. A benchmark, not a test: it asserts nothing and prints figures.
"""
