"""R16's retention: stored recordings whose `retain_until` has passed lose their file; the row
stays (`expired`, `deleted_at`, no path), so the call log and QA history still show that a
recording existed and when it went.

Runs in the service every `HOTLINE_RECORDING_RETENTION_CHECK_SECONDS`, and by hand:
`python -m app.recordings.retention` (`--dry-run` lists what would go). Idempotent: a file
already gone is fine, an expired row is never touched again, rows are never deleted. Only
`retain_until` decides (quality inspection may extend it for the recordings it samples);
several instances may run at once (rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.recordings import service
from app.recordings.storage import Storage

log = structlog.get_logger(__name__)
BATCH = 200


@dataclass
class Swept:
    expired: list[str] = field(default_factory=list)       # recording names marked expired
    files_missing: list[str] = field(default_factory=list)  # of those, the file was gone already


async def sweep(*, sessionmaker: async_sessionmaker[AsyncSession], storage: Storage,
                now: datetime, batch: int = BATCH, dry_run: bool = False) -> Swept:
    """Delete the files of every stored recording due by `now` and mark the rows expired."""
    swept = Swept()
    while True:
        async with sessionmaker() as session, session.begin():
            # A dry run marks nothing, so it lists all that is due at once (batches would
            # return the same rows again).
            due = await service.due_for_deletion(session=session, now=now,
                                                 limit=None if dry_run else batch)
            if dry_run:
                swept.expired += [r.name for r in due]
                return swept
            for recording in due:
                if recording.path is None or not await storage.delete(recording.path):
                    swept.files_missing.append(recording.name)
                service.mark_expired(recording, at=now)
                swept.expired.append(recording.name)
        if len(due) < batch:
            break
    if swept.expired:
        log.info("recordings.expired", count=len(swept.expired),
                 files_missing=len(swept.files_missing))
    return swept


async def run_forever(*, sessionmaker: async_sessionmaker[AsyncSession], storage: Storage,
                      settings: Any, clock: Any) -> None:
    """The service's periodic retention job (cancelled at shutdown)."""
    while True:
        try:
            await sweep(sessionmaker=sessionmaker, storage=storage, now=clock.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.error("recordings.retention_failed", error=repr(exc))
        await asyncio.sleep(settings.recording_retention_check_seconds)


def main() -> None:
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker
    from app.recordings.storage import LocalStorage

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    args = parser.parse_args()
    settings = Settings()

    async def go() -> Swept:
        engine = make_engine(settings.database_url, settings.db_long_timeouts)
        try:
            return await sweep(sessionmaker=make_sessionmaker(engine),
                               storage=LocalStorage(settings.storage_dir),
                               now=datetime.now(UTC), dry_run=args.dry_run)
        finally:
            await engine.dispose()

    swept = asyncio.run(go())
    verb = "would expire" if args.dry_run else "expired"
    print(f"recordings: {verb} {len(swept.expired)}"
          + (f" ({len(swept.files_missing)} files already gone)" if swept.files_missing else ""))
    for name in swept.expired:
        print(f"  {name}")


if __name__ == "__main__":
    main()
