"""Settings fail fast: missing or default secrets, bad time zones and bad URLs are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings

GOOD = dict(admin_token="a" * 20, ari_password="b" * 20)


def test_defaults_match_the_documented_ones():
    s = Settings(**GOOD)
    assert (s.http_host, s.http_port, s.timezone) == ("127.0.0.1", 8000, "Asia/Shanghai")
    assert (s.ring_cycle_seconds, s.max_rings, s.ring_limit_seconds) == (5, 3, 15)  # R1
    assert s.default_language == "zh"  # R5: Mandarin by default


def test_settings_come_from_hotline_prefixed_environment(monkeypatch):
    monkeypatch.setenv("HOTLINE_ADMIN_TOKEN", "x" * 20)
    monkeypatch.setenv("HOTLINE_ARI_PASSWORD", "y" * 20)
    monkeypatch.setenv("HOTLINE_RING_CYCLE_SECONDS", "6")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql://u@db:5432/hotline")
    s = Settings()
    assert s.ring_limit_seconds == 18  # North American cadence
    assert s.database_url == "postgresql+asyncpg://u@db:5432/hotline"


@pytest.mark.parametrize("missing", ["admin_token", "ari_password"])
def test_a_missing_secret_is_refused(missing):
    with pytest.raises(ValidationError, match=missing.upper()):
        Settings(**{**GOOD, missing: ""})


@pytest.mark.parametrize("weak", ["changeme", "short"])
def test_production_refuses_default_or_weak_secrets(weak):
    with pytest.raises(ValidationError, match="weak"):
        Settings(**{**GOOD, "admin_token": weak}, env="production")
    Settings(**{**GOOD, "admin_token": weak}, env="development")  # fine while developing


@pytest.mark.parametrize(("field", "value"), [
    ("timezone", "Mars/Olympus"), ("database_url", "mysql://x"), ("max_rings", 0),
    ("ring_cycle_seconds", 0), ("http_port", 70000), ("ari_app", "bad app"),
])
def test_bad_values_are_refused(field, value):
    with pytest.raises(ValidationError):
        Settings(**GOOD, **{field: value})


def test_database_and_writer_limits_default_to_the_documented_ones():
    s = Settings(**GOOD)
    t = s.db_timeouts
    assert (t.connect, t.command, t.statement, t.lock, t.idle_in_transaction, t.pool) == (
        3, 6, 5, 5, 30, 5)
    long = s.db_long_timeouts  # reports and jobs: long statements, the same margin
    assert (long.statement, long.command, long.connect) == (900, 901, 3)
    w = s.writers
    assert (w.max_pending, w.retry_min_seconds, w.retry_max_seconds, w.wait_seconds,
            w.drain_seconds, w.behind_seconds) == (200_000, 0.5, 10, 5, 10, 30)


@pytest.mark.parametrize("bad", [
    {"db_statement_timeout_seconds": 0}, {"db_connect_timeout_seconds": -1},
    {"db_command_timeout_seconds": 10_000}, {"writer_max_pending": 0},
    {"db_command_timeout_seconds": 4, "db_statement_timeout_seconds": 5},  # client first
    {"db_lock_timeout_seconds": 6},  # past the statement timeout
    {"db_lock_timeout_seconds": 2, "db_statement_timeout_seconds": 1},
    {"writer_retry_min_seconds": 20, "writer_retry_max_seconds": 10},
])
def test_inconsistent_database_or_writer_limits_are_refused(bad):
    with pytest.raises(ValidationError):
        Settings(**GOOD, **bad)
