#!/bin/sh
# Wait for Postgres, migrate to head, run the service (the full-stack-fastapi-template prestart).
set -e
python - <<'PY'
import asyncio, os, sys
import asyncpg
url = os.environ["HOTLINE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
async def wait():
    for _ in range(60):
        try:
            await (await asyncpg.connect(url, timeout=2)).close()
            return
        except Exception:
            await asyncio.sleep(1)
    sys.exit("database did not answer")
asyncio.run(wait())
PY
alembic upgrade head
exec python -m app
