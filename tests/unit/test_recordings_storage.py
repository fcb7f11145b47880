"""Recordings' storage and files (R16), pure: keys that cannot leave the root, atomic writes,
deletes that tolerate a missing file; WAV duration from the header; pause offsets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.recordings.audio import silent, wav_info
from app.recordings.models import Recording
from app.recordings.schemas import offset
from app.recordings.storage import BadKey, LocalStorage, check_key
from tests.support.fake_telephony import wav_bytes


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x.wav", "recordings/../../x",
                                 "a//b.wav", "./a.wav", "a\\b.wav", "a\0.wav"])
def test_a_key_that_would_leave_the_storage_root_is_refused(key):
    with pytest.raises(BadKey):
        check_key(key)


async def test_local_storage_writes_whole_files_and_deletes_them_once(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    key = "recordings/2026/11/23/call-x.wav"
    assert storage.local_path(key) is None
    await storage.put(key, b"RIFF....")
    path = storage.local_path(key)
    assert path == tmp_path / "root" / "recordings" / "2026" / "11" / "23" / "call-x.wav"
    assert path.read_bytes() == b"RIFF...."
    assert not list(path.parent.glob("*.part"))  # written aside, then renamed into place
    await storage.put(key, b"RIFF2")  # replaced whole
    assert path.read_bytes() == b"RIFF2"
    assert await storage.delete(key) is True
    assert await storage.delete(key) is False  # already gone: fine
    assert storage.local_path(key) is None


def test_the_duration_comes_from_the_wav_header():
    info = wav_info(wav_bytes(3.5))
    assert info is not None
    assert (info.rate, info.channels, info.sample_width, info.duration_seconds) == (8000, 1, 2, 3.5)


def test_a_header_that_promises_more_than_the_file_holds_counts_what_is_there():
    data = wav_bytes(2.0)[:-8000]  # half a second of samples missing
    assert wav_info(data).duration_seconds == 1.5


@pytest.mark.parametrize("data", [b"", b"RIFF", b"not a wav at all", b"RIFF\0\0\0\0WAVEjunk"])
def test_what_is_not_a_wav_has_no_duration(data):
    assert wav_info(data) is None


def test_a_muted_stretch_is_silent_and_speech_is_not():
    data = wav_bytes(1.0, sample=0) + wav_bytes(1.0, sample=3000)[44:]
    import struct  # the header says 1 s; make it say 2 s
    data = data[:40] + struct.pack("<I", 16000 * 2) + data[44:]
    assert silent(data, 0, 1.0) is True
    assert silent(data, 1.0, 2.0) is False


def test_pause_offsets_are_seconds_from_the_start_within_the_recording():
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    rec = Recording(id=uuid.uuid4(), name="n", call_id=uuid.uuid4(), started_at=t0,
                    duration_seconds=30.0)
    assert offset(rec, t0 + timedelta(seconds=4.25)) == 4.25
    assert offset(rec, t0 - timedelta(seconds=1)) == 0.0      # a clock a hair early
    assert offset(rec, t0 + timedelta(seconds=31)) == 30.0    # never past the end
    assert offset(rec, None) is None                          # still paused
