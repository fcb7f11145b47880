"""What the agent and queue API takes and returns (R9, R10, R13, R19).

Bodies refuse unknown fields, so a typo is a 422 rather than a silently ignored setting. Patches
take only the fields they change; `null` is accepted only where the field may be empty.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints,
                      field_validator, model_validator)

from app.prompts import system_prompt_names
from ivr.menu import NAME, CallType
from routing import phones
from routing.strategies import MAX_PROFICIENCY, MIN_PROFICIENCY, Level, Strategy

SIP_URI = r"^sips?:[^@\s]+@[A-Za-z0-9.\-]+(:\d{1,5})?$"
EXTENSION = r"^[0-9]{2,16}$"
LANGUAGE = r"^[a-z]{2,3}$"
MOH_CLASS = r"^[a-z0-9_-]{1,64}$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Extension = Annotated[str, Field(pattern=EXTENSION, description="digits, 2-16")]
Skill = Annotated[str, Field(pattern=NAME)]
Proficiency = Annotated[int, Field(ge=MIN_PROFICIENCY, le=MAX_PROFICIENCY, strict=True)]
Skills = dict[Skill, Proficiency]
Language = Annotated[str, Field(pattern=LANGUAGE)]
Languages = Annotated[list[Language], Field(min_length=1, max_length=16)]
Team = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Contact = Annotated[str, Field(pattern=SIP_URI, max_length=300,
                               description="SIP URI the agent's phone is dialled at")]


def _free_username(value: str) -> str:
    if value in phones.RESERVED_USERNAMES:
        raise ValueError(f"{value!r} is reserved")
    return value


def _password_charset(value: SecretStr) -> SecretStr:
    if not re.fullmatch(phones.PASSWORD_PATTERN, value.get_secret_value()):
        raise ValueError("printable ASCII characters only, no spaces")
    return value


SipUsername = Annotated[str, Field(pattern=phones.USERNAME_PATTERN,
                                   description="3-32: a-z first, then a-z, 0-9, _ or -"),
                        AfterValidator(_free_username)]
SipPassword = Annotated[SecretStr, Field(min_length=phones.PASSWORD_MIN,
                                         max_length=phones.PASSWORD_MAX),
                        AfterValidator(_password_charset)]
QueueName = Annotated[str, Field(pattern=NAME, description="the name IVR queue nodes use")]
QueueSkills = Annotated[list[Skill], Field(max_length=32)]
MaxWait = Annotated[int, Field(ge=10, le=3600)]
AnnounceEvery = Annotated[int, Field(ge=10, le=600)]
MohClass = Annotated[str, Field(pattern=MOH_CLASS)]
WrapUp = Annotated[int, Field(ge=0, le=600)]
# R16: how long a queue's recordings are kept, in days (None: HOTLINE_RECORDING_RETENTION_DAYS).
RetentionDays = Annotated[int, Field(ge=1, le=3650, strict=True)]
ServiceLevelSeconds = Annotated[float, Field(gt=0, le=3600)]  # R19, #18


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _refuse_nulls(model: BaseModel, nullable: frozenset[str]) -> None:
    """A patch may leave a field out, but may set only the nullable ones to null."""
    nulled = sorted(f for f in model.model_fields_set
                    if f not in nullable and getattr(model, f) is None)
    if nulled:
        raise ValueError(f"may not be null: {', '.join(nulled)}")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- agents ---------------------------------------------------------------------------------

class ContactPhone(_Body):
    """A phone dialled at a SIP URI through the trunk (`PJSIP/trunk/<contact>`)."""

    kind: Literal["contact"]
    contact: Contact


class RegistrationPhone(_Body):
    """A phone that registers to Asterisk with its own credentials, which we provision there (a
    PJSIP endpoint, aor and auth named `username`). Only md5(username:realm:password) is kept."""

    kind: Literal["registration"]
    username: SipUsername
    password: SipPassword


Phone = Annotated[ContactPhone | RegistrationPhone, Field(discriminator="kind")]


def _one_phone(contact: str | None, phone: ContactPhone | RegistrationPhone | None,
               *, required: bool) -> ContactPhone | RegistrationPhone | None:
    """`contact` (as existing clients send it) or `phone`, not both; as one `phone`."""
    if contact is not None and phone is not None:
        raise ValueError("give the phone as `contact` or as `phone`, not both")
    if contact is not None:
        return ContactPhone(kind="contact", contact=contact)
    if phone is None and required:
        raise ValueError("an agent needs a phone: `contact` (a SIP URI) or `phone`")
    return phone


class AgentIn(_Body):
    """A new agent: level (R10), skills with proficiency 1..5, languages, and the phone: a SIP
    URI as `contact`, or `phone` (`{"kind": "contact", "contact": ...}` or `{"kind":
    "registration", "username": ..., "password": ...}`)."""

    name: Name
    extension: Extension
    level: Level
    skills: Skills = {}
    languages: Languages = ["zh"]
    team: Team | None = None
    contact: Contact | None = None
    phone: Phone | None = None

    _dedupe = field_validator("languages")(classmethod(lambda cls, v: _unique(v)))

    @model_validator(mode="after")
    def _phone(self) -> AgentIn:
        self.phone = _one_phone(self.contact, self.phone, required=True)
        return self


class AgentPatch(_Body):
    """Changes to an agent; fields left out stay as they are. `skills` replaces the whole map; a
    new phone (`contact` or `phone`) replaces the old one (a registration always with its
    password); `is_active: false` deactivates the agent (logged out, its phone unprovisioned)."""

    name: Name | None = None
    extension: Extension | None = None
    level: Level | None = None
    skills: Skills | None = None
    languages: Languages | None = None
    team: Team | None = None
    contact: Contact | None = None
    phone: Phone | None = None
    is_active: bool | None = None

    @field_validator("languages")
    @classmethod
    def _dedupe(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _unique(v)

    @model_validator(mode="after")
    def _nulls(self) -> AgentPatch:
        _refuse_nulls(self, frozenset({"team"}))
        self.phone = _one_phone(self.contact, self.phone, required=False)
        return self


class ContactPhoneOut(BaseModel):
    kind: Literal["contact"] = "contact"
    contact: str


class RegistrationPhoneOut(BaseModel):
    """`provisioned`: Asterisk holds the current credentials; `registered`: the phone is
    registered now (its endpoint is online), None when Asterisk cannot be asked."""

    kind: Literal["registration"] = "registration"
    username: str
    provisioned: bool
    registered: bool | None = None


def phone_out(row: Any) -> ContactPhoneOut | RegistrationPhoneOut:
    """An agent row's phone as the API shows it (never a credential)."""
    if row.phone_kind == "registration":
        return RegistrationPhoneOut(username=row.sip_username,
                                    provisioned=phones.is_provisioned(row))
    return ContactPhoneOut(contact=row.contact)


class AgentOut(BaseModel):
    """An agent; `state`, `state_reason`, `state_since` and `call_id` are the live ACD's when it
    runs, else the last stored state (R19). `contact` is the phone's SIP URI for a contact phone
    (None for a registration); `phone` says which kind and, for a registration, its state."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    extension: str
    level: Level
    skills: dict[str, int]
    languages: list[str]
    team: str | None
    contact: str | None
    phone: ContactPhoneOut | RegistrationPhoneOut
    state: str
    state_reason: str | None
    state_since: datetime
    ready_since: datetime | None
    is_active: bool
    call_id: uuid.UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _phone_of_row(cls, data: Any) -> Any:
        if hasattr(data, "phone_kind") and not isinstance(data, dict):
            fields = {name: getattr(data, name) for name in cls.model_fields
                      if name not in ("phone", "call_id")}
            return {**fields, "phone": phone_out(data)}
        return data


class StateRequest(_Body):
    """What an agent (or their team lead) asks for; ringing, on_call and wrap_up are the ACD's."""

    state: Literal["ready", "paused", "logged_out"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=64)] | None = None

    @model_validator(mode="after")
    def _pause_has_a_reason(self) -> StateRequest:
        if self.state == "paused" and self.reason is None:
            self.reason = "other"
        return self


class StateChangeOut(BaseModel):
    """One stored agent state change (R19: busy/idle and occupancy reports)."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: str
    to_state: str
    event: str
    reason: str | None
    call_id: uuid.UUID | None


# -- queues ---------------------------------------------------------------------------------

def _system_prompt(name: str) -> str:
    if name not in system_prompt_names():
        raise ValueError(f"no system prompt {name!r} (prompts/system.yaml)")
    return name


SystemPrompt = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$"), AfterValidator(_system_prompt)]


class Overflow(_Body):
    """Where a call goes when the queue cannot serve it (nobody logged in who could take it, or
    past its maximum wait): another queue (`target`), voicemail (R8: the caller hears `prompt`,
    system prompts played in order, then leaves a message of at most `max_seconds`) or a promised
    call-back."""

    kind: Literal["queue", "voicemail", "callback"]
    target: Annotated[str, Field(pattern=NAME)] | None = None
    max_seconds: Annotated[int, Field(ge=5, le=600, strict=True)] | None = None
    prompt: Annotated[list[SystemPrompt], Field(min_length=1, max_length=5)] | None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_or_more(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Overflow:
        if self.kind == "queue" and self.target is None:
            raise ValueError("an overflow to a queue needs the queue's name as `target`")
        if self.kind != "queue" and self.target is not None:
            raise ValueError(f"`target` is for an overflow to a queue, not to {self.kind}")
        extra = [f for f in ("max_seconds", "prompt") if getattr(self, f) is not None]
        if self.kind != "voicemail" and extra:
            raise ValueError(f"{', '.join(extra)}: only for an overflow to voicemail")
        return self


class QueueIn(_Body):
    """A queue (R9) of one call type (R6), with the skills and language its agents need."""

    name: QueueName
    call_type: CallType
    skills: QueueSkills = []
    language: Language | None = None
    strategy: Strategy = Strategy.longest_idle
    max_wait_seconds: MaxWait = 300
    overflow: Overflow | None = None
    announce_every_seconds: AnnounceEvery | None = None
    moh_class: MohClass = "default"
    wrap_up_seconds: WrapUp = 15   # R13: after-call work is bounded
    survey: bool = False           # R17: ask callers to rate the call after the agent hangs up
    record_calls: bool = False     # R16: record agent conversations (the caller is told first)
    recording_retention_days: RetentionDays | None = None
    # the service level's answer threshold (#18); None: HOTLINE_SERVICE_LEVEL_SECONDS or the
    # three-ring limit
    service_level_seconds: ServiceLevelSeconds | None = None

    _dedupe = field_validator("skills")(classmethod(lambda cls, v: _unique(v)))


class QueuePatch(_Body):
    """Changes to a queue; fields left out stay as they are. The name is the key IVR menus use
    and cannot be changed (create a new queue instead)."""

    call_type: CallType | None = None
    skills: QueueSkills | None = None
    language: Language | None = None
    strategy: Strategy | None = None
    max_wait_seconds: MaxWait | None = None
    overflow: Overflow | None = None
    announce_every_seconds: AnnounceEvery | None = None
    moh_class: MohClass | None = None
    wrap_up_seconds: WrapUp | None = None
    survey: bool | None = None
    record_calls: bool | None = None
    recording_retention_days: RetentionDays | None = None
    service_level_seconds: ServiceLevelSeconds | None = None

    @field_validator("skills")
    @classmethod
    def _dedupe(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _unique(v)

    @model_validator(mode="after")
    def _nulls(self) -> QueuePatch:
        _refuse_nulls(self, frozenset({"language", "overflow", "announce_every_seconds",
                                       "recording_retention_days", "service_level_seconds"}))
        return self


class QueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    call_type: str
    skills: list[str]
    language: str | None
    strategy: str
    max_wait_seconds: int
    overflow: dict[str, Any] | None
    announce_every_seconds: int | None
    moh_class: str
    wrap_up_seconds: int
    survey: bool = False
    record_calls: bool = False
    recording_retention_days: int | None = None
    service_level_seconds: float | None = None
    created_at: datetime
