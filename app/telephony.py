"""The telephony port: what the call domain needs from the PBX. `app.ari.AriClient` implements it
against Asterisk; tests may use an in-memory fake that records the commands."""

from __future__ import annotations

from typing import Protocol

from app.ari.models import Channel, Playback


class Telephony(Protocol):
    async def answer(self, channel_id: str) -> None: ...

    async def hangup(self, channel_id: str, *, reason: str = "normal") -> None: ...

    async def play(self, channel_id: str, media: list[str], *, playback_id: str,
                   lang: str | None = None) -> Playback: ...

    async def get_playback(self, playback_id: str) -> Playback | None: ...

    async def list_channels(self) -> list[Channel]: ...

    async def subscribe(self, event_source: str) -> None: ...
