"""Logs and files (#20, R20): no full caller number or name in a log line, no SQL parameters in
an exception's message, recordings and messages owner-only from the start."""

from __future__ import annotations

import logging
import stat

import pytest
import structlog

from app import logs
from app.db import make_engine
from app.recordings.storage import LocalStorage


def test_a_log_line_masks_the_callers_number_and_name(capsys):
    logs.configure(level="INFO", fmt="json")
    try:
        structlog.get_logger("t").info("call.arrived", caller="13812345678",
                                       caller_number="+8613812345678", caller_name="Sun Li",
                                       customer_number="13812345678", dial="13812345678",
                                       queue="general")
        logging.getLogger("foreign").info("plain %s", "line")
    finally:
        logging.getLogger().handlers[:] = []
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert "12345678" not in err and "Sun Li" not in err, err
    assert '"caller": "138****5678"' in err and '"caller_name": "S**"' in err
    assert '"queue": "general"' in err


def test_the_engine_never_puts_sql_parameters_in_its_errors():
    engine = make_engine("postgresql+asyncpg://u@127.0.0.1:1/x")
    assert engine.sync_engine.hide_parameters is True


@pytest.mark.parametrize("key", ["2026/11/23/rec.wav"])
async def test_a_stored_recording_is_owner_only(tmp_path, key):
    storage = LocalStorage(tmp_path)
    await storage.put(key, b"RIFF")
    path = tmp_path / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
