"""ARI's resource objects (the fields we use), as Asterisk 22 sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _iso_offset(value: object) -> object:
    # Asterisk writes offsets as +0000; ISO 8601 (and pydantic) want +00:00.
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        return f"{value[:-2]}:{value[-2:]}"
    return value


AriTime = Annotated[datetime, BeforeValidator(_iso_offset)]


class AriModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanCep(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str = ""
    state: str = ""
    caller: CallerId = CallerId()
    connected: CallerId = CallerId()
    dialplan: DialplanCep = DialplanCep()
    creationtime: AriTime | None = None
    language: str = ""


class Playback(AriModel):
    id: str
    media_uri: str = ""
    target_uri: str = ""
    language: str = ""
    state: str = ""


class Bridge(AriModel):
    id: str
    technology: str = ""
    bridge_type: str = ""
    channels: list[str] = []


class LiveRecording(AriModel):
    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    cause: str | None = None


def target_channel_id(target_uri: str) -> str | None:
    """`channel:<id>` -> `<id>`; other targets (bridges) -> None."""
    kind, _, ident = target_uri.partition(":")
    return ident if kind == "channel" and ident else None
