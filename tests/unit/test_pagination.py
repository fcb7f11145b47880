"""The list APIs' keyset cursor and time range (app.pagination): a cursor gives back what it
holds, anything else is `invalid-cursor`; times need an offset and `since` before `until`."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.errors import AppError, InvalidRange
from app.pagination import InvalidCursor, decode_cursor, encode_cursor, time_range

SH = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=SH)


def test_a_cursor_gives_back_the_time_and_the_id_it_was_made_of():
    row = uuid.uuid4()
    assert decode_cursor(encode_cursor(AT, row)) == (AT, row)


@pytest.mark.parametrize("cursor", [
    "not base64 at all!",
    base64.urlsafe_b64encode(b"2026-11-23T08:00:00|not-a-uuid").decode(),
    base64.urlsafe_b64encode(f"2026-11-23T08:00:00|{uuid.uuid4()}".encode()).decode(),  # naive
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
def test_a_cursor_this_api_did_not_give_out_is_refused(cursor):
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(cursor)
    assert caught.value.error_id == "invalid-cursor"


def test_a_range_needs_offsets_and_since_before_until():
    assert time_range(AT, AT + timedelta(hours=1)) == (AT, AT + timedelta(hours=1))
    assert time_range(None, AT) == (None, AT)
    with pytest.raises(InvalidRange):
        time_range(AT, AT)
    with pytest.raises(AppError, match="`until` needs a time zone offset"):
        time_range(None, datetime(2026, 11, 23, 8, 0))
