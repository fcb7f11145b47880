"""The menu file's model: a graph of nodes keyed by name, validated by pydantic.

A node is one of the kinds below (the `kind` field picks it). Prompts are referred to by name;
their texts (or recorded files) per language are in the document's `prompts` section.
See `ivr/demo.yaml` for the shipped demo hotline.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.config import TimeZoneName

NAME = r"^[a-z][a-z0-9_]{0,63}$"
DIGIT = r"^[0-9*#]$"


class CallType(StrEnum):
    """R6: what a call is about."""

    consultation = "consultation"
    inquiry = "inquiry"
    complaint = "complaint"


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    # Advertising or promotion: refused in the main menu (R4).
    promo: bool = False


Prompts = Annotated[list[Annotated[str, Field(pattern=NAME)]], Field(min_length=1)]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class MenuNode(_Node):
    """Say the options; one key picks one (R4: few, simple options, the agent key always there)."""

    kind: Literal["menu"]
    prompt: Prompts
    options: dict[Annotated[str, Field(pattern=DIGIT)], Annotated[str, Field(pattern=NAME)]] = Field(
        min_length=1)
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    max_retries: int = Field(3, ge=1, le=10)
    invalid_prompt: Prompts = ["invalid_input"]
    timeout_prompt: Prompts = ["no_input"]

    _list = field_validator("prompt", "invalid_prompt", "timeout_prompt", mode="before")(
        classmethod(lambda cls, v: _as_list(v)))


class PlayNode(_Node):
    kind: Literal["play"]
    prompt: Prompts
    next: str = Field(pattern=NAME)

    _list = field_validator("prompt", mode="before")(classmethod(lambda cls, v: _as_list(v)))


class QueueNode(_Node):
    """Hand the call to an agent queue (R9) with its call type (R6), skills and language."""

    kind: Literal["queue"]
    queue: str = Field(pattern=NAME)
    call_type: CallType
    skills: list[Annotated[str, Field(pattern=NAME)]] = []
    # None: the call's own language (set by a language node, Mandarin by default).
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")
    prompt: Prompts | None = None

    _list = field_validator("prompt", mode="before")(classmethod(lambda cls, v: _as_list(v)))


class WebhookProvider(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, Field(pattern=r"^https?://")]
    timeout_seconds: float = Field(2.0, gt=0, le=10)


class LookupNode(_Node):
    """Self-service (R7): collect digits, ask a provider, speak the answer."""

    kind: Literal["lookup"]
    prompt: Prompts
    provider: Literal["complaint_status"] | WebhookProvider = "complaint_status"
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(12, ge=1, le=32)
    first_digit_timeout_seconds: float = Field(8.0, gt=0, le=60)
    inter_digit_timeout_seconds: float = Field(3.0, gt=0, le=30)
    max_retries: int = Field(3, ge=1, le=10)
    invalid_prompt: Prompts = ["invalid_input"]
    timeout_prompt: Prompts = ["no_input"]
    # Spoken after the answer, before going on to `next`.
    next: str = Field(pattern=NAME)
    # A failed lookup falls back here (an agent), never to silence.
    on_failure: str = Field(pattern=NAME)

    _list = field_validator("prompt", "invalid_prompt", "timeout_prompt", mode="before")(
        classmethod(lambda cls, v: _as_list(v)))

    @model_validator(mode="after")
    def _digits_range(self) -> "LookupNode":
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is more than max_digits")
        return self


class VoicemailNode(_Node):
    """R8: the caller leaves a message; it is stored with their number and a call-back task."""

    kind: Literal["voicemail"]
    prompt: Prompts
    max_seconds: int = Field(120, ge=5, le=600)
    next: str = Field(pattern=NAME)

    _list = field_validator("prompt", mode="before")(classmethod(lambda cls, v: _as_list(v)))


_TIME_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class HoursNode(_Node):
    """R5: business hours. No `weekly` means 7x24; holidays are closed all day."""

    kind: Literal["hours"]
    timezone: TimeZoneName = "Asia/Shanghai"
    weekly: dict[Weekday, list[str]] | None = None
    holidays: list[date] = []
    open: str = Field(pattern=NAME)
    closed: str = Field(pattern=NAME)

    @field_validator("weekly")
    @classmethod
    def _ranges(cls, weekly: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for day, ranges in (weekly or {}).items():
            for r in ranges:
                if not _TIME_RANGE.match(r) or r[:5] >= r[6:]:
                    raise ValueError(f"{day}: {r!r} is not a range like 08:00-20:00")
        return weekly


class LanguageNode(_Node):
    """R5: set the call's language: which prompts play and which agents may take the call."""

    kind: Literal["language"]
    language: str = Field(pattern=r"^[a-z]{2,3}$")
    next: str = Field(pattern=NAME)


class IfOpenComplaintNode(_Node):
    """R6: callers with an open complaint go to their matter."""

    kind: Literal["if_open_complaint"]
    then: str = Field(pattern=NAME)
    otherwise: str = Field(pattern=NAME, alias="else")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HangupNode(_Node):
    """R2: close with thanks, then hang up."""

    kind: Literal["hangup"]
    prompt: Prompts = ["thanks"]

    _list = field_validator("prompt", mode="before")(classmethod(lambda cls, v: _as_list(v)))


Node = Annotated[
    Union[MenuNode, PlayNode, QueueNode, LookupNode, VoicemailNode, HoursNode, LanguageNode,
          IfOpenComplaintNode, HangupNode],
    Field(discriminator="kind"),
]


class PromptText(BaseModel):
    """A prompt in one language: text to synthesise, or a recorded file (relative to the menu)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "PromptText":
        if (self.text is None) == (self.file is None):
            raise ValueError("a prompt has either `text` or `file`")
        return self


class LintSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_depth: int = Field(3, ge=1, le=10)
    agent_key: str = Field("0", pattern=DIGIT)


class MenuDocument(BaseModel):
    """One menu file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]] = Field(min_length=1)
    default_language: str
    voices: dict[str, str] = {}  # language -> espeak-ng voice, for synthesised prompts
    start: str = Field(pattern=NAME)
    lint: LintSettings = LintSettings()
    prompts: dict[Annotated[str, Field(pattern=NAME)], dict[str, str | PromptText]]
    nodes: dict[Annotated[str, Field(pattern=NAME)], Node] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_language_listed(self) -> "MenuDocument":
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        return self

    def prompt_text(self, name: str, language: str) -> PromptText:
        value = self.prompts[name][language]
        return PromptText(text=value) if isinstance(value, str) else value


def targets(node: BaseModel) -> dict[str, str]:
    """The nodes a node can go to, by the field (or `option N`) that names them."""
    out: dict[str, str] = {}
    if isinstance(node, MenuNode):
        out.update({f"option {k}": v for k, v in node.options.items()})
    for field in ("next", "on_failure", "open", "closed", "then", "otherwise"):
        value = getattr(node, field, None)
        if isinstance(value, str):
            out["else" if field == "otherwise" else field] = value
    return out


# What the built-in complaint lookup says for each complaint status (R7).
COMPLAINT_STATUS_PROMPTS = {
    "received": "status_received", "dispatched": "status_dispatched",
    "in_progress": "status_in_progress", "reopened": "status_in_progress",
    "resolved": "status_resolved", "called_back": "status_resolved",
    "closed": "status_closed", "closed_unreachable": "status_closed",
}
DIGIT_PROMPTS = [f"digit_{d}" for d in range(10)]


def prompts_of(node: BaseModel) -> list[str]:
    """Every prompt name a node may play, including those its feature speaks (digits, statuses)."""
    names: list[str] = []
    for field in ("prompt", "invalid_prompt", "timeout_prompt"):
        value = getattr(node, field, None)
        if value:
            names.extend(value)
    if isinstance(node, LookupNode):
        names += ["lookup_failed", *DIGIT_PROMPTS]
        if node.provider == "complaint_status":
            names += ["complaint_number_is", "complaint_not_found",
                      *sorted(set(COMPLAINT_STATUS_PROMPTS.values()))]
    if isinstance(node, VoicemailNode):
        names.append("message_saved")
    return list(dict.fromkeys(names))
