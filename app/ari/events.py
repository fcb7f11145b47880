"""ARI websocket events as pydantic models: a discriminated union on `type`.

`parse_event` never raises: unknown types and malformed messages are logged and dropped, so one
bad message cannot stop the stream.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

import structlog
from pydantic import Field, TypeAdapter, ValidationError

from app.ari.models import AriModel, AriTime, Bridge, Channel, LiveRecording, Playback, target_channel_id

log = structlog.get_logger(__name__)


class _Event(AriModel):
    application: str = ""
    timestamp: AriTime | None = None


class StasisStart(_Event):
    type: Literal["StasisStart"]
    args: list[str] = []
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(_Event):
    type: Literal["StasisEnd"]
    channel: Channel


class ChannelStateChange(_Event):
    type: Literal["ChannelStateChange"]
    channel: Channel


class ChannelDtmfReceived(_Event):
    type: Literal["ChannelDtmfReceived"]
    digit: str = Field(pattern=r"^[0-9A-D*#]$")
    duration_ms: int = 0
    channel: Channel


class ChannelHangupRequest(_Event):
    type: Literal["ChannelHangupRequest"]
    cause: int | None = None
    soft: bool | None = None
    channel: Channel


class ChannelDestroyed(_Event):
    type: Literal["ChannelDestroyed"]
    cause: int = 0
    cause_txt: str = ""
    channel: Channel


class PlaybackStarted(_Event):
    type: Literal["PlaybackStarted"]
    playback: Playback


class PlaybackFinished(_Event):
    type: Literal["PlaybackFinished"]
    playback: Playback


class ChannelEnteredBridge(_Event):
    type: Literal["ChannelEnteredBridge"]
    bridge: Bridge
    channel: Channel


class ChannelLeftBridge(_Event):
    type: Literal["ChannelLeftBridge"]
    bridge: Bridge
    channel: Channel


class RecordingStarted(_Event):
    type: Literal["RecordingStarted"]
    recording: LiveRecording


class RecordingFinished(_Event):
    type: Literal["RecordingFinished"]
    recording: LiveRecording


class RecordingFailed(_Event):
    type: Literal["RecordingFailed"]
    recording: LiveRecording


class Dial(_Event):
    type: Literal["Dial"]
    dialstatus: str = ""
    peer: Channel
    caller: Channel | None = None


class ApplicationReplaced(_Event):
    type: Literal["ApplicationReplaced"]


AriEvent = Annotated[
    Union[
        StasisStart, StasisEnd, ChannelStateChange, ChannelDtmfReceived, ChannelHangupRequest,
        ChannelDestroyed, PlaybackStarted, PlaybackFinished, ChannelEnteredBridge,
        ChannelLeftBridge, RecordingStarted, RecordingFinished, RecordingFailed, Dial,
        ApplicationReplaced,
    ],
    Field(discriminator="type"),
]
_adapter: TypeAdapter[AriEvent] = TypeAdapter(AriEvent)

# Events Asterisk sends that we do not act on: dropped quietly (debug), not reported as unknown.
IGNORED_TYPES = frozenset({
    "ChannelVarset", "ChannelCallerId", "ChannelConnectedLine", "ChannelDialplan",
    "ChannelCreated", "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelHold",
    "ChannelUnhold", "ChannelToneDetected", "ChannelUserevent", "BridgeCreated",
    "BridgeDestroyed", "BridgeMerged", "BridgeBlindTransfer", "BridgeAttendedTransfer",
    "BridgeVideoSourceChanged", "DeviceStateChanged", "EndpointStateChange",
    "ContactStatusChange", "PeerStatusChange", "TextMessageReceived", "PlaybackContinuing",
    "ChannelDtmfStarted",
})


def parse_event(raw: str | bytes) -> AriEvent | None:
    """Parse one websocket message; unknown or malformed ones are logged and give None."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        log.warning("ari.event.malformed", reason="not JSON", error=str(exc), raw=_clip(raw))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        log.warning("ari.event.malformed", reason="no type", raw=_clip(raw))
        return None
    kind = data["type"]
    if kind in IGNORED_TYPES:
        log.debug("ari.event.ignored", type=kind)
        return None
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] == "union_tag_invalid" for e in errors):
            log.info("ari.event.unknown", type=kind)
        else:
            log.warning("ari.event.malformed", type=kind, errors=errors, raw=_clip(raw))
        return None


def channel_id_of(event: AriEvent) -> str | None:
    """The channel an event is about, if any (playbacks and recordings by their target)."""
    if isinstance(event, Dial):
        return event.peer.id
    channel = getattr(event, "channel", None)
    if channel is not None:
        return channel.id
    for attr in ("playback", "recording"):
        obj = getattr(event, attr, None)
        if obj is not None:
            return target_channel_id(obj.target_uri)
    return None


def _clip(raw: str | bytes, limit: int = 500) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= limit else text[:limit] + "…"
