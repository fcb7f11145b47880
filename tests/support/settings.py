"""Settings for tests: real secrets (never defaults), short durations instead of real minutes."""

from __future__ import annotations

from typing import Any

from app.config import Settings


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = dict(env="test", admin_token="test-admin-token-0123456789",
                                  ari_password="test-ari-password-0123456789",
                                  closing_grace_seconds=0.01)
    values.update(overrides)
    return Settings(**values)
