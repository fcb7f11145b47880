"""Fill a database with a year of realistic calls for the report benchmark (#7).

    .venv/bin/python -m bench.generate_calls [--calls 10000000] [--database hotline_bench]

Makes the database (dropped first) on the server the stack uses (HOTLINE_DATABASE_URL, the
local server, or the private cluster), migrates it, then generates in Postgres itself
(generate_series, in batches of a day's calls):
- 6 queues of the R18 call types, 200 agents in 10 teams (juniors, intermediates, seniors);
- calls over the 365 days before --end, more on weekdays, a day shape peaking at 10:00 and
  15:00 local time (Asia/Shanghai); 7 % abandon in the menu, 6 % overflow or leave a message,
  of those queued 88 % are answered (after a wait of mostly seconds, a tail of minutes) and the
  rest abandon (a fifth of them within 5 s);
- per queued call one offer (answered, or cancelled when abandoned); 9 % of answered calls had
  a missed offer (no_answer at the ring limit) first; dispositions on 70 % of answered calls;
- per answered call the agent's on_call, wrap_up and ready state changes.
Prints the row counts and how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from stack import paths, postgres

QUEUES = [("general", "consultation"), ("billing", "inquiry"), ("status", "inquiry"),
          ("complaints", "complaint"), ("vip", "consultation"), ("outbound", "outbound")]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


DAY_SQL = """
WITH ag AS (SELECT array_agg(id ORDER BY id) AS ids FROM agents),
raw AS (
  SELECT g,
         $1::timestamptz AS day,
         random() + 0 * g AS u_hour, random() + 0 * g AS u_fate, random() + 0 * g AS u_wait,
         random() + 0 * g AS u_talk, random() + 0 * g AS u_queue, random() + 0 * g AS u_agent,
         random() + 0 * g AS u_miss, random() + 0 * g AS u_dispo
  FROM generate_series(1, $2) AS g
), shaped AS (
  SELECT *,
    -- local hour: two peaks (10:00 and 15:00) over 08:00-21:00, a thin night
    day + make_interval(secs => 3600 * (CASE WHEN u_hour < 0.04 THEN 24 * u_hour / 0.04
         WHEN u_hour < 0.52 THEN 8 + 5 * power((u_hour - 0.04) / 0.48, 0.8)
         ELSE 13 + 8 * power((u_hour - 0.52) / 0.48, 1.3) END)) AS started_at,
    CASE WHEN u_fate < 0.07 THEN 'ivr' WHEN u_fate < 0.13 THEN 'overflow'
         WHEN u_fate < 0.13 + 0.87 * 0.88 THEN 'answered' ELSE 'abandoned' END AS fate,
    (ARRAY['general','general','general','billing','status','complaints','vip'])[1 + floor(u_queue * 7)::int] AS queue,
    CASE WHEN u_wait < 0.7 THEN 2 + 10 * u_wait ELSE 9 + 600 * power((u_wait - 0.7) / 0.3, 3) END AS wait,
    30 + 600 * power(u_talk, 2) AS talk
  FROM raw
)
INSERT INTO calls (id, channel_id, direction, caller_number, language, state, started_at,
                   last_seen_at, enqueued_at, connected_at, ended_at, end_reason, hangup_by,
                   queue, priority, agent_id, apology_due, notes, disposition, ivr_outcome)
SELECT gen_random_uuid(), 'gen-' || $3 || '-' || g, 'inbound',
       '+86138' || lpad((floor(u_agent * 1e8))::bigint::text, 8, '0'), 'zh', 'ended', started_at,
       started_at,
       CASE WHEN fate <> 'ivr' THEN started_at + interval '25 seconds' END,
       CASE WHEN fate = 'answered' THEN started_at + interval '25 seconds'
            + make_interval(secs => wait + CASE WHEN u_miss < 0.09 THEN 15 ELSE 0 END) END,
       started_at + interval '25 seconds' + CASE
            WHEN fate = 'ivr' THEN make_interval(secs => -10 + 20 * u_wait)
            WHEN fate = 'answered' THEN make_interval(secs => wait + talk + CASE WHEN u_miss < 0.09 THEN 15 ELSE 0 END)
            WHEN fate = 'overflow' THEN interval '300 seconds'
            ELSE make_interval(secs => CASE WHEN u_talk < 0.2 THEN 4 * u_wait ELSE wait END) END,
       CASE fate WHEN 'ivr' THEN 'abandoned_in_ivr' WHEN 'answered' THEN 'completed'
                 WHEN 'overflow' THEN 'overflow' ELSE 'abandoned_in_queue' END,
       'caller',
       CASE WHEN fate <> 'ivr' THEN queue END, CASE WHEN queue = 'vip' THEN 10 ELSE 0 END,
       CASE WHEN fate = 'answered' THEN ag.ids[1 + floor(u_agent * 200)::int] END,
       fate = 'answered' AND (wait > 15 OR u_miss < 0.09), '',
       CASE WHEN fate = 'answered' AND u_dispo < 0.7 THEN
            (ARRAY['consultation','inquiry','complaint','other'])[1 + floor(u_dispo / 0.7 * 4)::int] END,
       CASE WHEN fate <> 'ivr' THEN 'queue:' || queue END
FROM shaped, ag
"""

OFFERS_SQL = """
WITH ag AS (SELECT array_agg(id ORDER BY id) AS ids FROM agents)
INSERT INTO offers (id, call_id, agent_id, queue, channel_id, offered_at, ringing_at, answered_at,
                    ended_at, outcome, ring_seconds, rings)
SELECT gen_random_uuid(), c.id, c.agent_id, c.queue, 'agent-' || c.id,
       c.connected_at - interval '3 seconds', c.connected_at - interval '2.5 seconds',
       c.connected_at, NULL, 'answered', 2.5, 1
FROM calls c, ag
WHERE c.started_at >= $1 AND c.started_at < $2 AND c.connected_at IS NOT NULL
UNION ALL
SELECT gen_random_uuid(), c.id, ag.ids[1 + abs(hashtext(c.channel_id)) % 200],
       c.queue, 'miss-' || c.id, c.connected_at - interval '19 seconds',
       c.connected_at - interval '18.5 seconds', NULL, c.connected_at - interval '3.5 seconds',
       'no_answer', 15, 3
FROM calls c, ag
WHERE c.started_at >= $1 AND c.started_at < $2 AND c.connected_at IS NOT NULL AND c.apology_due
      AND c.connected_at - c.enqueued_at > interval '15 seconds' AND abs(hashtext(c.id::text)) % 10 = 0
UNION ALL
SELECT gen_random_uuid(), c.id, ag.ids[1 + abs(hashtext(c.channel_id)) % 200],
       c.queue, 'gone-' || c.id, c.ended_at - interval '2 seconds', c.ended_at - interval '1.5 seconds',
       NULL, c.ended_at, 'cancelled', 1.5, 1
FROM calls c, ag
WHERE c.started_at >= $1 AND c.started_at < $2 AND c.end_reason = 'abandoned_in_queue'
      AND c.ended_at - c.enqueued_at > interval '3 seconds'
"""

STATES_SQL = """
INSERT INTO agent_state_changes (agent_id, at, from_state, to_state, event, reason, call_id)
SELECT c.agent_id, s.at, s.from_state, s.to_state, s.event, NULL, c.id
FROM calls c CROSS JOIN LATERAL (VALUES
    (c.connected_at, 'ringing', 'on_call', 'answered'),
    (c.ended_at, 'on_call', 'wrap_up', 'call_ended'),
    (c.ended_at + interval '15 seconds', 'wrap_up', 'ready', 'wrap_up_done')) AS s(at, from_state, to_state, event)
WHERE c.started_at >= $1 AND c.started_at < $2 AND c.connected_at IS NOT NULL
"""


async def generate(url: str, calls: int, end: datetime) -> None:
    conn = await asyncpg.connect(_plain(url))
    try:
        try:  # the server on this machine: generate at the lowest CPU priority
            os.setpriority(os.PRIO_PROCESS, await conn.fetchval("SELECT pg_backend_pid()"), 19)
        except OSError:
            pass
        for name, kind in QUEUES:
            await conn.execute("INSERT INTO queues (id, name, call_type, skills, strategy, "
                               "max_wait_seconds, moh_class, wrap_up_seconds) VALUES "
                               "(gen_random_uuid(), $1, $2, '[]', 'longest_idle', 300, 'default', 15)",
                               name, kind)
        await conn.execute("""
            INSERT INTO agents (id, name, extension, level, skills, languages, team, contact,
                                phone_kind, state, state_since, misses_in_a_row, is_active)
            SELECT gen_random_uuid(), 'agent ' || g, (10000 + g)::text,
                   (ARRAY['junior','intermediate','senior'])[1 + g % 3], '{}', '["zh"]',
                   'team ' || (g % 10), 'sip:a' || g || '@127.0.0.1:5999', 'contact',
                   'logged_out', now(), 0, true
            FROM generate_series(1, 200) g""")
        start = end - timedelta(days=365)
        weights = [1.15 if (start + timedelta(days=d)).weekday() < 5 else 0.6 for d in range(365)]
        total_w = sum(weights)
        made, t0 = 0, time.monotonic()
        for d in range(365):
            day = start + timedelta(days=d)
            n = round(calls * weights[d] / total_w) if d < 364 else calls - made
            async with conn.transaction():
                await conn.execute(DAY_SQL, day, n, str(d))
                await conn.execute(OFFERS_SQL, day, day + timedelta(days=1))
                await conn.execute(STATES_SQL, day, day + timedelta(days=1))
            made += n
            if d % 30 == 29:
                print(f"  {made:>10,} calls ({d + 1} days) in {time.monotonic() - t0:.0f} s",
                      flush=True)
        await conn.execute("ANALYZE")
        for table in ("calls", "offers", "agent_state_changes"):
            count = await conn.fetchval(f"SELECT count(*) FROM {table}")
            print(f"{table}: {count:,} rows")
        print(f"generated in {time.monotonic() - t0:.0f} s")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--database", default="hotline_bench")
    parser.add_argument("--end", default="2026-11-01T00:00:00+08:00",
                        help="the year of calls ends here (default 2026-11-01 Shanghai)")
    args = parser.parse_args()
    server, _ = postgres.server_url()
    url = postgres.ensure_database(server, args.database, fresh=True)
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=paths.REPO,
                   env={**os.environ, "HOTLINE_DATABASE_URL": url}, check=True)
    print(f"database {postgres.redacted(url)}: {args.calls:,} calls over a year")
    asyncio.run(generate(url, args.calls, datetime.fromisoformat(args.end).astimezone(UTC)))


if __name__ == "__main__":
    main()
