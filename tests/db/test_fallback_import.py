"""R21: what the dialplan's fallback served while no service ran is imported when the service
connects: call rows, the message with its call-back task, Asterisk's copies deleted; twice is
once (app/fallback.py against a fake of ARI's stored recordings)."""

from __future__ import annotations

import uuid
import wave
from dataclasses import dataclass
from io import BytesIO

import pytest
from sqlalchemy import select

from app.ari.errors import AriNotFound, AriUnavailable
from app.callbacks.models import CallbackSource, CallbackTask, Voicemail
from app.calls.models import Call, CallEvent
from app.fallback import DIAL_VARIABLE, Fallback
from app.recordings.storage import LocalStorage
from routing.agent_state import AgentState
from routing.models import AgentRow
from tests.support.settings import make_settings

pytestmark = pytest.mark.db


def wav(seconds: float) -> bytes:
    out = BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))
    return out.getvalue()


class FakeAri:
    """ARI's global variables and stored recordings, in memory."""

    def __init__(self) -> None:
        self.globals: dict[str, str] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.down = False

    async def set_global(self, name: str, value: str) -> None:
        if self.down:
            raise AriUnavailable("down")
        self.globals[name] = value

    async def stored_recordings(self) -> list[dict]:
        if self.down:
            raise AriUnavailable("down")
        return [{"name": n, "format": f} for n, (f, _) in self.files.items()]

    async def stored_recording_file(self, name: str) -> bytes:
        if name not in self.files:
            raise AriNotFound(name, status_code=404)
        return self.files[name][1]

    async def delete_stored_recording(self, name: str) -> None:
        self.files.pop(name, None)


@dataclass
class Agent:
    endpoint: str
    state: AgentState


@pytest.fixture
def ari() -> FakeAri:
    ari = FakeAri()
    ari.files = {
        "fallback-1796673507-0": ("sln", b"v1,1796673507,1796673521,13855550001,95000,agent,"
                                         b"trunk/sip:lina@127.0.0.1:5062,,1796673509,1796673517,"
                                         b"1796673518\n"),
        "fallback-1796673600-1": ("sln", b"v1,1796673600,1796673640,13855550002,95000,message,,"
                                         b"fallback-1796673600-1-message,1796673602,,\n"),
        "fallback-1796673600-1-message": ("wav", wav(4.5)),
        "fallback-1796673700-2": ("sln", b"v1,1796673700,1796673703,13855550003,95000,abandoned,"
                                         b",,,,\n"),
        "voicemail-other-overflow": ("wav", wav(1)),  # not the fallback's: left alone
    }
    return ari


@pytest.fixture
async def lina(sessionmaker, clock) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        row = AgentRow(name="lina", extension=str(uuid.uuid4().int % 10**8), level="senior",
                       skills={}, languages=["zh"], contact="sip:lina@127.0.0.1:5062",
                       state="ready", state_since=clock.now(), ready_since=clock.now())
        session.add(row)
    return row.id


@pytest.fixture
def fallback(ari, lina, sessionmaker, clock, tmp_path) -> Fallback:
    agents = {lina: Agent("PJSIP/trunk/sip:lina@127.0.0.1:5062", AgentState.ready),
              uuid.uuid4(): Agent("PJSIP/zhao", AgentState.paused)}
    return Fallback(ari=ari, agents=lambda: agents, sessionmaker=sessionmaker, clock=clock,
                    storage=LocalStorage(tmp_path),
                    settings=make_settings(storage_dir=tmp_path, callback_due_hours=24))


async def rows(sessionmaker, model, *where):
    async with sessionmaker() as session:
        return list(await session.scalars(select(model).where(*where)))


async def test_every_call_the_fallback_served_is_imported_once_with_the_message_and_its_callback(
        fallback, ari, lina, sessionmaker, tmp_path):
    assert await fallback.import_handled() == 3
    calls = {c.caller_number: c for c in await rows(sessionmaker, Call,
                                                     Call.channel_id.like("fallback-%"))}
    answered, message, gone = (calls["13855550001"], calls["13855550002"], calls["13855550003"])
    assert (answered.channel_id, answered.end_reason, answered.agent_id, answered.state) == (
        "fallback-1796673507.0", "fallback_agent", lina, "ended")
    assert answered.connected_at is not None and answered.enqueued_at is not None
    assert (message.end_reason, message.agent_id, message.connected_at) == (
        "fallback_message", None, None)
    assert (gone.end_reason, gone.answered_at, gone.enqueued_at) == (
        "fallback_abandoned", None, None)
    [voicemail] = await rows(sessionmaker, Voicemail, Voicemail.call_id == message.id)
    assert voicemail.caller_number == "13855550002" and voicemail.duration_seconds == 4.5
    assert (tmp_path / voicemail.path).read_bytes() == wav(4.5)
    tasks = {t.call_id: t for t in await rows(sessionmaker, CallbackTask)}
    assert tasks[message.id].source == CallbackSource.voicemail
    assert tasks[message.id].voicemail_id == voicemail.id
    assert tasks[gone.id].source == CallbackSource.abandoned  # called back like a queue abandon
    assert answered.id not in tasks
    timeline = await rows(sessionmaker, CallEvent, CallEvent.call_id == answered.id)
    assert [e.trigger for e in sorted(timeline, key=lambda e: e.seq)] == ["arrived", "fallback"]
    assert set(ari.files) == {"voicemail-other-overflow"}  # Asterisk's copies deleted
    assert await fallback.import_handled() == 0


async def test_a_record_imported_again_after_a_failed_delete_is_still_one_call(
        fallback, ari, sessionmaker):
    kept = dict(ari.files)
    assert await fallback.import_handled() == 3
    ari.files = kept  # as if Asterisk's copies had not been deleted
    assert await fallback.import_handled() == 3
    assert len(await rows(sessionmaker, Call, Call.channel_id.like("fallback-%"))) == 3
    assert len(await rows(sessionmaker, Voicemail)) == 1
    assert len(await rows(sessionmaker, CallbackTask)) == 2


async def test_a_record_not_whole_yet_is_left_for_the_next_import(fallback, ari, sessionmaker):
    ari.files = {"fallback-1796673800-3": ("sln", b"v1,1796673800,17966")}
    assert await fallback.import_handled() == 0
    assert "fallback-1796673800-3" in ari.files


async def test_the_dial_string_is_written_when_it_changes_and_again_after_a_connect(fallback, ari):
    assert await fallback.sync() is True
    assert ari.globals[DIAL_VARIABLE] == "PJSIP/trunk/sip:lina@127.0.0.1:5062"
    assert await fallback.sync() is False
    ari.globals.clear()  # a new Asterisk
    await fallback.connected()
    await fallback.imported()
    assert ari.globals[DIAL_VARIABLE] == "PJSIP/trunk/sip:lina@127.0.0.1:5062"
    await fallback.close()


async def test_asterisk_unreachable_writes_and_imports_nothing_and_raises_nothing(fallback, ari):
    ari.down = True
    assert await fallback.sync() is False
    assert await fallback.import_handled() == 0
    ari.down = False
    assert await fallback.sync() is True
