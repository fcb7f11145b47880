"""Calls: the per-call state machine, the call log in Postgres, and the handling of ARI events."""
