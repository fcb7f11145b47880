"""R16's retention job against real Postgres, with the time given: files past `retain_until`
are deleted and their rows marked expired (kept); nothing else is touched; a second run and a
file already gone are fine; a retention extended later (quality inspection) is honoured."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from app.recordings import retention
from app.recordings.models import Recording
from app.recordings.storage import LocalStorage
from tests.support.desk import T0, build_world

DATA = b"RIFF-some-audio"


async def add(sessionmaker, storage, call, *, retain_days: float | None, status="stored",
              write=True) -> Recording:
    name = f"call-{call.id}-{uuid.uuid4().hex[:8]}"
    path = f"recordings/2026/11/23/{name}.wav"
    if write:
        await storage.put(path, DATA)
    async with sessionmaker() as session, session.begin():
        row = Recording(id=uuid.uuid4(), name=name, call_id=call.id, started_at=T0,
                        ended_at=T0, status=status, format="wav", size_bytes=len(DATA),
                        sha256=hashlib.sha256(DATA).hexdigest(), path=path,
                        retain_until=T0 + timedelta(days=retain_days)
                        if retain_days is not None else None)
        session.add(row)
    return row


async def state(sessionmaker, row):
    async with sessionmaker() as session:
        got = await session.get(Recording, row.id)
        return got.status, got.path, got.deleted_at


async def test_expired_recordings_lose_their_file_and_keep_their_row(sessionmaker, tmp_path):
    storage = LocalStorage(tmp_path)
    world = await build_world(sessionmaker)
    due = await add(sessionmaker, storage, world.call_c, retain_days=30)
    later = await add(sessionmaker, storage, world.call_c, retain_days=31)
    forever = await add(sessionmaker, storage, world.call_c, retain_days=None)
    failed = await add(sessionmaker, storage, world.call_c, retain_days=1, status="failed",
                       write=False)
    now = T0 + timedelta(days=30, seconds=1)  # an injected clock: no waiting for a month
    dry = await retention.sweep(sessionmaker=sessionmaker, storage=storage, now=now, dry_run=True)
    assert dry.expired == [due.name] and storage.local_path(due.path) is not None
    swept = await retention.sweep(sessionmaker=sessionmaker, storage=storage, now=now)
    assert swept.expired == [due.name] and swept.files_missing == []
    assert storage.local_path(due.path) is None
    assert await state(sessionmaker, due) == ("expired", None, now)
    for kept in (later, forever):
        assert (await state(sessionmaker, kept))[0] == "stored"
        assert storage.local_path(kept.path) is not None
    assert (await state(sessionmaker, failed))[0] == "failed"  # never had a file of ours
    again = await retention.sweep(sessionmaker=sessionmaker, storage=storage, now=now)
    assert again.expired == []  # idempotent


async def test_a_file_already_gone_is_fine_and_the_row_is_still_marked(sessionmaker, tmp_path):
    storage = LocalStorage(tmp_path)
    world = await build_world(sessionmaker)
    row = await add(sessionmaker, storage, world.call_c, retain_days=1)
    await storage.delete(row.path)  # someone cleaned up by hand
    swept = await retention.sweep(sessionmaker=sessionmaker, storage=storage,
                                  now=T0 + timedelta(days=2))
    assert swept.files_missing == [row.name]
    assert (await state(sessionmaker, row))[0] == "expired"


async def test_a_retention_extended_after_storing_is_honoured(sessionmaker, tmp_path):
    storage = LocalStorage(tmp_path)
    world = await build_world(sessionmaker)
    row = await add(sessionmaker, storage, world.call_c, retain_days=1)
    async with sessionmaker() as session, session.begin():  # e.g. sampled for inspection
        await session.execute(update(Recording).where(Recording.id == row.id)
                              .values(retain_until=T0 + timedelta(days=60)))
    await retention.sweep(sessionmaker=sessionmaker, storage=storage, now=T0 + timedelta(days=2))
    assert (await state(sessionmaker, row))[0] == "stored"


async def test_many_due_recordings_go_in_batches(sessionmaker, tmp_path):
    storage = LocalStorage(tmp_path)
    world = await build_world(sessionmaker)
    rows = [await add(sessionmaker, storage, world.call_d, retain_days=1) for _ in range(5)]
    dry = await retention.sweep(sessionmaker=sessionmaker, storage=storage,
                                now=T0 + timedelta(days=2), batch=2, dry_run=True)
    assert sorted(dry.expired) == sorted(r.name for r in rows)  # all, not the first batch
    swept = await retention.sweep(sessionmaker=sessionmaker, storage=storage,
                                  now=T0 + timedelta(days=2), batch=2)
    assert sorted(swept.expired) == sorted(r.name for r in rows)
    async with sessionmaker() as session:
        left = await session.scalars(select(Recording).where(Recording.status == "stored"))
        assert list(left) == []
