"""Builders for ARI events as Asterisk 22 sends them (JSON dicts and parsed models)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.ari.events import AriEvent, parse_event


def ts(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def channel(channel_id: str, *, number: str = "13800138000", name: str = "Zhang San",
            exten: str = "95000", state: str = "Ring", app_data: str = "hotline,inbound",
            created: datetime | None = None) -> dict[str, Any]:
    return {
        "id": channel_id, "name": f"PJSIP/trunk-{channel_id}", "state": state,
        "protocol_id": "abc", "caller": {"name": name, "number": number},
        "connected": {"name": "", "number": ""}, "accountcode": "",
        "dialplan": {"context": "hotline-inbound", "exten": exten, "priority": 1,
                     "app_name": "Stasis", "app_data": app_data},
        "creationtime": ts(created), "language": "en",
    }


def raw(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "application": "hotline", "timestamp": ts(), "asterisk_id": "x", **fields}


def stasis_start(channel_id: str, **kw: Any) -> dict[str, Any]:
    return raw("StasisStart", args=["inbound"], channel=channel(channel_id, **kw))


def stasis_end(channel_id: str) -> dict[str, Any]:
    return raw("StasisEnd", channel=channel(channel_id, state="Up"))


def hangup_request(channel_id: str, cause: int = 16) -> dict[str, Any]:
    return raw("ChannelHangupRequest", cause=cause, channel=channel(channel_id, state="Up"))


def playback_finished(channel_id: str, playback_id: str) -> dict[str, Any]:
    return raw("PlaybackFinished", playback={
        "id": playback_id, "media_uri": "sound:x", "target_uri": f"channel:{channel_id}",
        "language": "zh", "state": "done"})


def parsed(data: dict[str, Any]) -> AriEvent:
    event = parse_event(json.dumps(data))
    assert event is not None, data
    return event


def dtmf(channel_id: str, digit: str) -> dict[str, Any]:
    return raw("ChannelDtmfReceived", digit=digit, duration_ms=100,
               channel=channel(channel_id, state="Up"))


def recording_finished(channel_id: str, name: str, duration: int = 4) -> dict[str, Any]:
    return raw("RecordingFinished", recording={
        "name": name, "format": "wav", "state": "done", "target_uri": f"channel:{channel_id}",
        "duration": duration})
