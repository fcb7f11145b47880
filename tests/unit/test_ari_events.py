"""ARI event parsing: good events become typed models; unknown and malformed ones are dropped."""

from __future__ import annotations

import json
import logging

import pytest

from app.ari.events import (
    ChannelDtmfReceived, PlaybackFinished, StasisStart, channel_id_of, parse_event,
)
from tests.support import events as ev


def test_stasis_start_is_parsed_with_caller_dialled_number_and_creation_time():
    event = parse_event(json.dumps(ev.stasis_start("1700.1", number="13800138000", exten="95000")))
    assert isinstance(event, StasisStart)
    assert event.args == ["inbound"]
    assert event.channel.caller.number == "13800138000"
    assert event.channel.dialplan.exten == "95000"
    assert event.channel.creationtime is not None and event.channel.creationtime.utcoffset() is not None
    assert channel_id_of(event) == "1700.1"


def test_playback_event_belongs_to_the_channel_it_targets():
    event = parse_event(json.dumps(ev.playback_finished("1700.2", "call.greeting")))
    assert isinstance(event, PlaybackFinished)
    assert channel_id_of(event) == "1700.2"


def test_dtmf_digit_is_parsed():
    event = parse_event(json.dumps(ev.raw("ChannelDtmfReceived", digit="#", duration_ms=120,
                                          channel=ev.channel("1700.3"))))
    assert isinstance(event, ChannelDtmfReceived) and event.digit == "#"


def test_asterisk_timestamp_offset_without_colon_is_understood():
    data = ev.stasis_end("1700.4")
    data["timestamp"] = "2026-11-23T10:15:02.879+0800"
    event = parse_event(json.dumps(data))
    assert event is not None and event.timestamp is not None
    assert event.timestamp.utcoffset().total_seconds() == 8 * 3600


def test_unknown_event_type_is_dropped_without_error(caplog):
    with caplog.at_level(logging.INFO):
        assert parse_event(json.dumps(ev.raw("SomethingNew", foo=1))) is None


def test_events_we_do_not_act_on_are_dropped_quietly():
    assert parse_event(json.dumps(ev.raw("ChannelVarset", variable="X", value="1"))) is None


@pytest.mark.parametrize("message", [
    "not json at all",
    b"\xff\xfe",
    "[]",
    json.dumps({"no": "type"}),
    json.dumps({"type": 5}),
    json.dumps(ev.raw("StasisStart", args=["inbound"])),            # no channel
    json.dumps(ev.raw("ChannelDtmfReceived", digit="X", channel=ev.channel("1"))),  # bad digit
    json.dumps(ev.raw("PlaybackFinished", playback={"no_id": True})),
])
def test_malformed_messages_give_none_and_never_raise(message):
    assert parse_event(message) is None
