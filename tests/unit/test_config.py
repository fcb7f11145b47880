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
