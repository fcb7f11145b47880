"""Settings, read once from the environment (prefix `HOTLINE_`) and passed to whoever needs them."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, BaseModel, BeforeValidator, Field, IPvAnyNetwork, SecretStr,
                      ValidationError, field_validator, model_validator)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.calendar import Calendar, parse_shifts

# Values that must never reach production: the docs' examples and the obvious guesses.
WEAK_SECRETS = {"", "changeme", "change-me", "secret", "password", "admin", "asterisk", "hotline"}


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


# An IANA time zone name that this machine knows (e.g. Asia/Shanghai).
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]

# #20, R20: where agents' contact phones may be (private and loopback networks by default) and
# which customer numbers a call-back may dial (Asterisk-style patterns over E.164, `app.dialrules`:
# mainland mobiles and landlines by default; no international, premium or short numbers).
DEFAULT_PHONE_NETWORKS = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
DEFAULT_OUTBOUND_NUMBERS = ("+861[3-9]XXXXXXXXX", "+8610XXXXXXXX", "+862XXXXXXXXX",
                            "+86[3-9]XXXXXXXXX", "+86[3-9]XXXXXXXXXX")
NUMBER_PATTERN = r"^\+?([0-9XZN.]|\[[0-9]([0-9]|-[0-9])*\])+$"
NumberPattern = Annotated[str, Field(pattern=NUMBER_PATTERN, max_length=40)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _comma_list(value: object) -> object:
    """`sat,sun` or `2026-10-01, 2026-10-02` from the environment as a list (JSON lists too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _weekdays(value: object) -> object:
    items = _comma_list(value)
    if isinstance(items, list | tuple | set | frozenset):
        out = []
        for item in items:
            if isinstance(item, str) and item.strip().lower()[:3] in WEEKDAYS:
                out.append(WEEKDAYS.index(item.strip().lower()[:3]))
            elif isinstance(item, int) and 0 <= item <= 6:
                out.append(item)
            else:
                raise ValueError(f"not a day of the week: {item!r} (mon, tue, ... sun)")
        if len(set(out)) == 7:
            raise ValueError("every day of the week cannot be a day off")
        return frozenset(out)
    return items


def async_database_url(value: str) -> str:
    """postgresql:// and postgresql+asyncpg:// URLs, as the asyncpg form SQLAlchemy needs."""
    if value.startswith("postgresql://"):
        value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
    if not value.startswith("postgresql+asyncpg://"):
        raise ValueError("the database URL must be a postgresql:// or postgresql+asyncpg:// URL")
    return value


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class AriSettings(BaseModel):
    """How to reach Asterisk's REST Interface; `HOTLINE_ARI_URL` etc."""

    url: str = "http://127.0.0.1:8088"
    user: str = "hotline"
    password: SecretStr = SecretStr("")
    app: str = "hotline"
    request_timeout_seconds: float = Field(5.0, gt=0)
    reconnect_min_seconds: float = Field(0.5, gt=0)
    reconnect_max_seconds: float = Field(30.0, gt=0)


class DbTimeouts(BaseModel):
    """How long a database access may take (R21: a hung Postgres fails fast, never hangs us).

    `connect` bounds opening a connection (asyncpg's `timeout`); `command` is asyncpg's client-side
    limit on one statement (it also catches a network that silently drops packets, which no
    server-side limit can); `statement`, `lock` and `idle_in_transaction` are the server's
    `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`, set on every
    connection; `pool` bounds the wait for a pooled connection. The command limit is a little
    longer than the statement one, so that a slow statement ends with Postgres's own error and
    only a silent network with the client's. The lock limit defaults to the statement one: the
    service queues on purpose behind advisory locks (sign-in throttling, call-back sync), and a
    tighter limit fails those queues under load; set it lower to make lock waits fail first."""

    connect: float = Field(3.0, gt=0, le=60)
    command: float = Field(6.0, gt=0, le=7200)
    statement: float = Field(5.0, gt=0, le=3600)
    lock: float = Field(5.0, gt=0, le=3600)
    idle_in_transaction: float = Field(30.0, gt=0, le=3600)
    pool: float = Field(5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> "DbTimeouts":
        if self.command < self.statement:
            raise ValueError("the command timeout must be at least the statement timeout")
        if self.lock > self.statement:
            raise ValueError("the lock timeout must be at most the statement timeout")
        return self


class WriterSettings(BaseModel):
    """The write-behind writers' limits during a Postgres outage (`app.ordered_writer`)."""

    # Writes kept in memory per writer while Postgres cannot be reached; past it new writes are
    # refused (logged, counted). 200,000 is 11-14 minutes of the call log at 20 calls/s
    # (12-15 writes a call), ~1 KB a write (app/ordered_writer.py).
    max_pending: int = Field(200_000, ge=1, le=5_000_000)
    # Retrying a batch that could not be stored: exponential backoff between these.
    retry_min_seconds: float = Field(0.5, gt=0, le=60)
    retry_max_seconds: float = Field(10.0, gt=0, le=300)
    # How long a caller that awaits its write being stored waits (the write stays queued).
    wait_seconds: float = Field(5.0, gt=0, le=300)
    # How long `drain()` waits before it returns with writes still pending.
    drain_seconds: float = Field(10.0, gt=0, le=600)
    # `/ready` reports a writer as behind when its oldest pending write is older than this.
    behind_seconds: float = Field(30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> "WriterSettings":
        if self.retry_max_seconds < self.retry_min_seconds:
            raise ValueError("writer_retry_max_seconds must be at least writer_retry_min_seconds")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=None, extra="ignore")

    env: Environment = Environment.development
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline"
    # R21: every database access is bounded (`DbTimeouts`); the service's work uses these.
    db_connect_timeout_seconds: float = Field(3.0, gt=0, le=60)
    db_command_timeout_seconds: float = Field(6.0, gt=0, le=600)
    db_statement_timeout_seconds: float = Field(5.0, gt=0, le=600)
    db_lock_timeout_seconds: float = Field(5.0, gt=0, le=600)
    db_idle_in_transaction_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    db_pool_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # Reports and the background jobs (rollups, retention, QA sampling) run on an engine of
    # their own whose statements may take this long (the first rollup of ten million calls
    # takes ~6.5 minutes, docs/benchmarks.md); its client-side limit is this plus the margin
    # the limits above leave between the command and the statement timeout.
    db_long_statement_timeout_seconds: float = Field(900.0, gt=0, le=3600)
    # R21: the write-behind writers during a Postgres outage (`WriterSettings`).
    writer_max_pending: int = Field(200_000, ge=1, le=5_000_000)
    writer_retry_min_seconds: float = Field(0.5, gt=0, le=60)
    writer_retry_max_seconds: float = Field(10.0, gt=0, le=300)
    writer_wait_seconds: float = Field(5.0, gt=0, le=300)
    writer_drain_seconds: float = Field(10.0, gt=0, le=600)
    writer_behind_seconds: float = Field(30.0, gt=0, le=3600)
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "hotline"
    ari_password: SecretStr = SecretStr("")
    ari_app: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Reconnecting the event stream: exponential backoff between these bounds.
    ari_reconnect_min_seconds: float = Field(0.5, gt=0)
    # R21: Asterisk back after a restart is seen within this: a connect attempt to a port
    # nobody listens on costs nothing, a caller refused meanwhile costs a call.
    ari_reconnect_max_seconds: float = Field(2.0, gt=0)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    admin_token: SecretStr = SecretStr("")
    timezone: TimeZoneName = "Asia/Shanghai"
    # R1: one ring is one ring cadence (China 1 s on + 4 s off = 5 s; North America 6 s).
    ring_cycle_seconds: float = Field(5.0, gt=0, le=30)
    max_rings: int = Field(3, ge=1, le=10)
    # R1: after this many missed offers in a row an agent is paused (mod_callcenter's max-no-answer).
    max_no_answer: int = Field(1, ge=1, le=10)
    # R13: after-call work before an agent is ready again (a queue may set its own).
    wrap_up_seconds: float = Field(15.0, ge=0, le=600)
    # For the estimated wait told to callers: each queue's AHT measured over the last
    # `aht_window_hours` once it handled `aht_min_calls` calls in them (#18), else this.
    average_handle_seconds: float = Field(180.0, gt=0, le=3600)
    aht_window_hours: float = Field(24.0, gt=0, le=24 * 90)
    aht_min_calls: int = Field(20, ge=1, le=100000)
    # R5: Mandarin by default.
    default_language: str = Field("zh", pattern=r"^[a-z]{2,3}$")
    # Where Asterisk finds our prompts, as a path on Asterisk's side (sound:<dir>/<lang>/<name>).
    prompt_dir: str = "/srv/hotline/prompts"
    # The same directory as this service sees it, if it can write there: then the service makes
    # the prompts itself (system prompts and every menu version's) with espeak-ng and sox.
    prompt_build_dir: Path | None = None
    # The voice menu (R4-R8); the repo ships the demo hotline's.
    ivr_file: Path = Path(__file__).resolve().parent.parent / "ivr" / "demo.yaml"
    # Where we keep files we own (voicemails, call recordings), fetched from Asterisk via ARI.
    storage_dir: Path = Path(__file__).resolve().parent.parent / "var" / "storage"
    # R16: call recordings. Kept this many days after they end unless their queue says otherwise
    # (`queues.recording_retention_days`); the retention job runs this often. R20: agents may
    # fetch recordings of their own calls only if this is on (quality inspectors, team leads
    # for their team's agents and managers always may).
    recording_retention_days: int = Field(180, ge=1, le=3650)
    recording_retention_check_seconds: float = Field(3600.0, ge=1, le=24 * 3600)
    recordings_agent_access: bool = False
    # R16, R17: outbound call-backs are agent conversations too: recorded (the notice played to
    # both when the customer answers) unless this is off; kept as long as the queue of the call
    # the task came from says, else `recording_retention_days` (app/calls/outbound.py).
    record_callbacks: bool = True
    # R2: after the closing thanks, give the caller this long to hang up first.
    closing_grace_seconds: float = Field(3.0, ge=0, le=60)
    # Sign-in (R20): a session lasts one shift at most and ends after a long idle spell; five
    # wrong passwords for a user name (or forty from one address) within the window lock it out.
    session_hours: float = Field(12.0, gt=0, le=24 * 7)
    session_idle_minutes: float = Field(120.0, gt=0, le=24 * 60)
    login_max_failures: int = Field(5, ge=1, le=100)
    # #20, R20: limits before work. Request bodies (a menu's YAML its own), and what a WebSocket
    # client may send: messages of at most this size, this many a second (with this burst).
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=64 * 1024 * 1024)
    ivr_max_bytes: int = Field(512 * 1024, ge=1024, le=64 * 1024 * 1024)
    ws_max_message_bytes: int = Field(4096, ge=256, le=1024 * 1024)
    ws_messages_per_second: float = Field(5.0, gt=0, le=1000)
    ws_message_burst: int = Field(20, ge=1, le=10_000)
    login_window_minutes: float = Field(15.0, gt=0, le=24 * 60)
    # Reports (R18, R19): abandons this quick are shown but left out of the rates; the service
    # level counts answers within this many seconds of entering the queue (default: R1's limit).
    short_abandon_seconds: float = Field(5.0, ge=0, le=120)
    service_level_seconds: float | None = Field(None, gt=0, le=3600)
    # R19: the shifts that busy/idle reports are cut into: name=first-end hour of the local day,
    # e.g. "night=0-8,day=8-16,evening=16-24" (one may pass midnight: "late=22-6").
    shifts: str = Field("night=0-8,day=8-16,evening=16-24",
                        pattern=r"^[a-z_]{1,20}=\d{1,2}-\d{1,2}(,[a-z_]{1,20}=\d{1,2}-\d{1,2})*$")
    # How often the hourly report rollups are brought up to date (app/reports/rollup.py).
    report_rollup_seconds: float = Field(60.0, ge=1, le=3600)
    # How many earlier calls and open complaints the agent's screen pop shows (R14).
    screen_pop_calls: int = Field(5, ge=0, le=50)
    # R21: what a live call reads (the caller's facts, R6/R10/R11) answers "unknown" after this
    # long, so that a hung Postgres never holds a caller up.
    call_read_timeout_seconds: float = Field(1.0, gt=0, le=10)
    # Call-backs (R8, R15, R17): failed attempts are spaced this far apart, and a task is given up
    # as unreachable after this many (R15: 3-5); a task not from a complaint is due this long
    # after it was opened; the customer's phone rings this long; the customer is dialled through
    # the trunk with this endpoint ({number}: national digits, as a person dials them).
    callback_retry_minutes: float = Field(30.0, gt=0, le=7 * 24 * 60)
    callback_max_attempts: int = Field(3, ge=3, le=5)
    callback_due_hours: float = Field(24.0, gt=0, le=7 * 24)
    callback_ring_seconds: float = Field(30.0, gt=0, le=120)
    outbound_dial: str = Field("PJSIP/trunk/sip:{number}@127.0.0.1:5070",
                               pattern=r"^[A-Za-z0-9_]+/.*\{number\}")
    outbound_caller_id: str = Field("95000", pattern=r"^[0-9+]{1,32}$")
    # #20, R20: HOTLINE_AGENT_PHONE_NETWORKS (comma-separated CIDRs) and HOTLINE_OUTBOUND_NUMBERS
    # (comma-separated patterns, or a JSON list); anything else is refused, never dialled.
    agent_phone_networks: Annotated[
        tuple[IPvAnyNetwork, ...], NoDecode, BeforeValidator(_comma_list),
        Field(min_length=1)] = DEFAULT_PHONE_NETWORKS  # type: ignore[assignment]
    outbound_numbers: Annotated[tuple[NumberPattern, ...], NoDecode, BeforeValidator(_comma_list),
                                Field(min_length=1, max_length=100)] = DEFAULT_OUTBOUND_NUMBERS
    # R17: how long the survey waits for a key after the question.
    survey_timeout_seconds: float = Field(6.0, gt=0, le=60)
    # R15's working-day calendar, in `timezone`: the days off each week and the holidays
    # (HOTLINE_WEEKEND_DAYS=sat,sun; HOTLINE_HOLIDAYS=2026-10-01,2026-10-02: ISO dates).
    weekend_days: Annotated[frozenset[int], NoDecode,
                            BeforeValidator(_weekdays)] = frozenset({5, 6})
    holidays: Annotated[tuple[date, ...], NoDecode, BeforeValidator(_comma_list)] = ()
    # Department webhooks for major and crisis complaints (R15): how long a POST may take.
    webhook_timeout_seconds: float = Field(3.0, gt=0, le=30)
    # Quality inspection (R16): recordings sampled per agent and month (1-5; a run may ask for
    # another number in 1-5), the shortest worth judging (shorter ones only when an agent has too
    # few), the days an inspector has to score a sample (its recording is kept at least that
    # long), and how often the QA job looks (samples last month once it is over; keeps the
    # recordings of unscored samples, app/qa/service.py).
    qa_samples_per_agent: int = Field(3, ge=1, le=5)
    qa_min_duration_seconds: float = Field(30.0, ge=0, le=3600)
    qa_review_days: int = Field(30, ge=1, le=365)
    qa_job_seconds: float = Field(3600.0, ge=1, le=6 * 3600)
    # R21 (#15): any number of instances, one active, by a lease in Postgres (app/lease.py). The
    # holder proves its lease session every `lease_heartbeat_seconds` (a standby tries to take the
    # lease as often); it issues ARI commands only while its last proof is at most
    # `lease_fence_seconds` old; Postgres ends a silent holder's session, freeing the lease, after
    # `lease_session_timeout_seconds`, so the fence must close before that. The lease is named
    # after the ARI app unless `lease_name` says otherwise (one lease per app and database).
    lease_heartbeat_seconds: float = Field(0.5, gt=0, le=10)
    lease_fence_seconds: float = Field(2.0, gt=0, le=60)
    lease_session_timeout_seconds: float = Field(3.0, gt=0, le=300)
    lease_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    log_format: Annotated[str, Field(pattern=r"^(json|console)$")] = "console"
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @model_validator(mode="after")
    def _secrets_set(self) -> "Settings":
        for name in ("admin_token", "ari_password"):
            value = getattr(self, name).get_secret_value()
            if not value:
                raise ValueError(f"HOTLINE_{name.upper()} must be set")
            if self.env is Environment.production and (value.lower() in WEAK_SECRETS or len(value) < 16):
                raise ValueError(
                    f"HOTLINE_{name.upper()} is a default or weak value; "
                    "production needs a generated secret of at least 16 characters"
                )
        return self

    @model_validator(mode="after")
    def _limits_consistent(self) -> "Settings":
        """The database and writer limits together (command >= statement >= lock, ...)."""
        try:
            self.db_timeouts, self.db_long_timeouts, self.writers  # noqa: B018 - built to check
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @model_validator(mode="after")
    def _lease_timing(self) -> "Settings":
        beat, fence = self.lease_heartbeat_seconds, self.lease_fence_seconds
        if fence < 2 * beat:
            raise ValueError("HOTLINE_LEASE_FENCE_SECONDS must be at least twice "
                             "HOTLINE_LEASE_HEARTBEAT_SECONDS (a heartbeat and its retry fit in it)")
        if fence >= self.lease_session_timeout_seconds:
            raise ValueError("HOTLINE_LEASE_FENCE_SECONDS must be shorter than "
                             "HOTLINE_LEASE_SESSION_TIMEOUT_SECONDS: a silent holder's fence "
                             "closes before Postgres frees its lease for another instance")
        return self

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, value: str) -> str:
        parse_shifts(value)
        return value

    @property
    def shift_list(self) -> list[tuple[str, int, int]]:
        return parse_shifts(self.shifts)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def calendar(self) -> Calendar:
        """R15's working-day calendar: the time zone, days off and holidays."""
        return Calendar(zone=self.zone, holidays=frozenset(self.holidays),
                        weekend=frozenset(self.weekend_days))

    @property
    def secure_cookies(self) -> bool:
        """The session cookie is sent over HTTPS only outside development."""
        return self.env is Environment.production

    @property
    def ring_limit_seconds(self) -> float:
        """R1: how long an offered phone may ring before the call moves on."""
        return self.max_rings * self.ring_cycle_seconds

    @property
    def db_timeouts(self) -> DbTimeouts:
        """The service's database limits (calls, the ACD, the API)."""
        return DbTimeouts(connect=self.db_connect_timeout_seconds,
                          command=self.db_command_timeout_seconds,
                          statement=self.db_statement_timeout_seconds,
                          lock=self.db_lock_timeout_seconds,
                          idle_in_transaction=self.db_idle_in_transaction_timeout_seconds,
                          pool=self.db_pool_timeout_seconds)

    @property
    def db_long_timeouts(self) -> DbTimeouts:
        """The limits of reports and background jobs: long statements (and lock waits: a
        second instance's rollup or QA run waits for the first), the same connect, idle and
        pool limits."""
        short = self.db_timeouts
        margin = short.command - short.statement
        return DbTimeouts(**{**short.model_dump(),
                             "statement": self.db_long_statement_timeout_seconds,
                             "lock": self.db_long_statement_timeout_seconds,
                             "command": self.db_long_statement_timeout_seconds + margin})

    @property
    def writers(self) -> WriterSettings:
        return WriterSettings(max_pending=self.writer_max_pending,
                              retry_min_seconds=self.writer_retry_min_seconds,
                              retry_max_seconds=self.writer_retry_max_seconds,
                              wait_seconds=self.writer_wait_seconds,
                              drain_seconds=self.writer_drain_seconds,
                              behind_seconds=self.writer_behind_seconds)

    @property
    def ari(self) -> AriSettings:
        return AriSettings(url=self.ari_url, user=self.ari_user, password=self.ari_password,
                           app=self.ari_app, reconnect_min_seconds=self.ari_reconnect_min_seconds,
                           reconnect_max_seconds=self.ari_reconnect_max_seconds)

