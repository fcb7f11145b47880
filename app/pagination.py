"""Keyset pages and time ranges of the list APIs (calls, recordings, agents' states): one
cursor format and one check of `since`/`until`, so every list answers the same way."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from app.errors import AppError, InvalidRange


class InvalidCursor(AppError):
    error_id = "invalid-cursor"
    message = "the cursor is not one this API gave out"


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor after the row started at `at` with id `row_id` (newest first)."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) a cursor of `encode_cursor` holds; InvalidCursor for anything else."""
    try:
        started, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        at = datetime.fromisoformat(started)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc


def aware(value: datetime | None, name: str) -> datetime | None:
    """`value` itself; 400 when it has no time zone offset."""
    if value is not None and value.tzinfo is None:
        raise AppError(f"`{name}` needs a time zone offset (e.g. 2026-11-23T08:00:00+08:00)")
    return value


def time_range(since: datetime | None,
               until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """`since` and `until`, both with an offset and `since` before `until` (400 otherwise)."""
    since, until = aware(since, "since"), aware(until, "until")
    if since and until and since >= until:
        raise InvalidRange()
    return since, until
