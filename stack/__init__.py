"""The development stack: Asterisk 22 in a Debian sid chroot, PostgreSQL, prompts and our service.

`python -m stack up|down|run|provision|status` is what the Makefile calls; the test suite uses the
same functions to start a private Asterisk instance of its own.
"""
