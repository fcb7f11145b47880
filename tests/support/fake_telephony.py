"""A recording fake of the telephony port: commands are kept in order; failures can be injected."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field

from app.ari.errors import AriConflict, AriNotFound, AriUnavailable
from app.ari.models import Bridge, Channel, LiveRecording, Playback


def wav_bytes(seconds: float, *, rate: int = 8000, sample: int = 0) -> bytes:
    """A mono 16-bit WAV of `seconds` (every sample `sample`), as Asterisk's format_wav writes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(int(sample).to_bytes(2, "little", signed=True) * int(seconds * rate))
    return buffer.getvalue()


@dataclass
class FakeTelephony:
    commands: list[tuple] = field(default_factory=list)
    channels: dict[str, Channel] = field(default_factory=dict)
    playbacks: dict[str, Playback] = field(default_factory=dict)
    recordings: dict[str, bytes] = field(default_factory=dict)
    # Bridge recordings being written: name -> (bridge, muted); stop moves them to `recordings`
    # with the bytes `recorded_audio` gives (a test sets it; default: a second of silence).
    live: dict[str, tuple[str, bool]] = field(default_factory=dict)
    recorded_audio: dict[str, bytes] = field(default_factory=dict)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    fail_on: set[str] = field(default_factory=set)  # command names that raise AriUnavailable
    # Pushed configuration: (config_class, object_type, id) -> fields; endpoint states by
    # "TECH/resource" (a PJSIP endpoint that exists and is not listed here is offline).
    config: dict[tuple[str, str, str], list[tuple[str, str]]] = field(default_factory=dict)
    endpoint_states: dict[str, str] = field(default_factory=dict)

    def _record(self, *command: object) -> None:
        self.commands.append(command)
        if command[0] in self.fail_on:
            raise AriUnavailable(f"fake: {command[0]} fails")

    def names(self) -> list[str]:
        return [c[0] for c in self.commands]

    async def answer(self, channel_id: str) -> None:
        self._record("answer", channel_id)

    async def hangup(self, channel_id: str, *, reason: str = "normal") -> None:
        self._record("hangup", channel_id)
        if channel_id not in self.channels:
            raise AriNotFound("fake: no such channel")
        self.channels.pop(channel_id, None)

    async def play(self, channel_id: str, media: list[str], *, playback_id: str,
                   lang: str | None = None) -> Playback:
        self._record("play", channel_id, tuple(media), playback_id)
        playback = Playback(id=playback_id, media_uri=media[0], target_uri=f"channel:{channel_id}",
                            state="playing")
        self.playbacks[playback_id] = playback
        return playback

    async def get_playback(self, playback_id: str) -> Playback | None:
        return self.playbacks.get(playback_id)

    async def stop_playback(self, playback_id: str) -> None:
        self._record("stop_playback", playback_id)
        self.playbacks.pop(playback_id, None)

    async def record(self, channel_id: str, *, name: str, max_seconds: int) -> None:
        self._record("record", channel_id, name, max_seconds)

    async def stored_recording_file(self, name: str) -> bytes:
        self._record("stored_recording_file", name)
        if name not in self.recordings:
            raise AriNotFound(f"fake: no recording {name}")
        return self.recordings[name]

    async def record_bridge(self, bridge_id: str, *, name: str, fmt: str = "wav") -> LiveRecording:
        self._record("record_bridge", bridge_id, name)
        if name in self.live or name in self.recordings:
            raise AriConflict(f"fake: recording {name} exists")
        self.live[name] = (bridge_id, False)
        return LiveRecording(name=name, format=fmt, state="recording",
                             target_uri=f"bridge:{bridge_id}")

    async def get_live_recording(self, name: str) -> LiveRecording | None:
        if name not in self.live:
            return None
        bridge, muted = self.live[name]
        return LiveRecording(name=name, format="wav", state="recording",
                             target_uri=f"bridge:{bridge}")

    async def stop_live_recording(self, name: str) -> None:
        self._record("stop_live_recording", name)
        if self.live.pop(name, None) is not None:
            self.recordings[name] = self.recorded_audio.get(name, wav_bytes(1.0))

    async def mute_live_recording(self, name: str) -> None:
        self._record("mute_live_recording", name)
        if name not in self.live:
            raise AriNotFound(f"fake: no live recording {name}")
        self.live[name] = (self.live[name][0], True)

    async def unmute_live_recording(self, name: str) -> None:
        self._record("unmute_live_recording", name)
        if name not in self.live:
            raise AriNotFound(f"fake: no live recording {name}")
        self.live[name] = (self.live[name][0], False)

    async def delete_stored_recording(self, name: str) -> None:
        self._record("delete_stored_recording", name)
        self.recordings.pop(name, None)

    async def originate(self, endpoint: str, *, channel_id: str, caller_id: str | None = None,
                        timeout: int = 30, app_args: str = "",
                        variables: dict[str, str] | None = None) -> Channel:
        self._record("originate", endpoint, channel_id, app_args)
        channel = Channel(id=channel_id, state="Down")
        self.channels[channel_id] = channel
        return channel

    async def get_channel(self, channel_id: str) -> Channel:
        if channel_id not in self.channels:
            raise AriNotFound(f"fake: no channel {channel_id}")
        return self.channels[channel_id]

    async def get_bridge(self, bridge_id: str) -> Bridge | None:
        return self.bridges.get(bridge_id)

    async def start_moh(self, channel_id: str, *, moh_class: str = "default") -> None:
        self._record("start_moh", channel_id, moh_class)

    async def stop_moh(self, channel_id: str) -> None:
        self._record("stop_moh", channel_id)

    async def create_bridge(self, bridge_id: str, *, kind: str = "mixing") -> Bridge:
        self._record("create_bridge", bridge_id, kind)
        self.bridges[bridge_id] = Bridge(id=bridge_id, bridge_type=kind)
        return self.bridges[bridge_id]

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        self._record("add_to_bridge", bridge_id, tuple(channel_ids))
        bridge = self.bridges[bridge_id]
        self.bridges[bridge_id] = bridge.model_copy(
            update={"channels": [*bridge.channels, *channel_ids]})

    async def remove_from_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        self._record("remove_from_bridge", bridge_id, tuple(channel_ids))
        bridge = self.bridges[bridge_id]
        self.bridges[bridge_id] = bridge.model_copy(
            update={"channels": [c for c in bridge.channels if c not in channel_ids]})

    async def start_bridge_moh(self, bridge_id: str, *, moh_class: str = "default") -> None:
        self._record("start_bridge_moh", bridge_id, moh_class)

    async def play_on_bridge(self, bridge_id: str, media: list[str], *, playback_id: str,
                             lang: str | None = None) -> Playback:
        self._record("play_on_bridge", bridge_id, tuple(media), playback_id)
        playback = Playback(id=playback_id, target_uri=f"bridge:{bridge_id}")
        self.playbacks[playback_id] = playback  # playing until the test says it finished
        return playback

    async def destroy_bridge(self, bridge_id: str) -> None:
        self._record("destroy_bridge", bridge_id)
        for name, (bridge, _) in list(self.live.items()):  # Asterisk ends its recordings
            if bridge == bridge_id:
                await self.stop_live_recording(name)

    def played(self) -> list[tuple[str, ...]]:
        """The media of every play command, in order."""
        return [c[2] for c in self.commands if c[0] == "play"]

    async def list_channels(self) -> list[Channel]:
        self._record("list_channels")
        return list(self.channels.values())

    async def subscribe(self, event_source: str) -> None:
        self._record("subscribe", event_source)

    async def endpoint_state(self, technology: str, resource: str) -> str | None:
        self._record("endpoint_state", technology, resource)
        if technology == "PJSIP" and ("res_pjsip", "endpoint", resource) not in self.config:
            return None
        return self.endpoint_states.get(f"{technology}/{resource}", "offline")

    async def put_config_object(self, config_class: str, object_type: str, object_id: str,
                                fields: list[tuple[str, str]]) -> None:
        self._record("put_config_object", config_class, object_type, object_id)
        self.config[(config_class, object_type, object_id)] = list(fields)

    async def delete_config_object(self, config_class: str, object_type: str,
                                   object_id: str) -> None:
        self._record("delete_config_object", config_class, object_type, object_id)
        self.config.pop((config_class, object_type, object_id), None)
