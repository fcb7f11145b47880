"""Automatic call distribution (ACD): queues and agents (R1, R9-R13).

The pure decisions (data in, data out: no I/O, no database, no asyncio, no clock reading; `now`
is passed in):

- `routing.agent_state`: the agent's state machine (logged_out, ready, ringing, on_call, wrap_up,
  paused) and the after-N-misses rule.
- `routing.ring_rule`: the three-ring rule's arithmetic (R1): ring limit, ring counting, deadlines,
  when an apology is due, and the record of one offer.
- `routing.strategies`: which ready agent may take a call (language, skills, level, R10) and which
  one gets it (longest_idle, round_robin, fewest_calls, skill_weighted).
- `routing.queue_order`: who waits first (re-offers, priority R11, FIFO), matching waiting calls to
  agents without ever offering one agent or one call twice (R9), position and estimated wait.
- `routing.overflow`, `routing.seniority`, `routing.announce`: where a call goes when nobody can
  take it, the level a call needs, what a waiting caller hears.

With I/O: `routing.engine` (the live ACD under one lock), `routing.models`/`service`/`offers`/
`state_writer` (agents, queues, offers and state changes in Postgres), `routing.phones` (agents'
phones provisioned through ARI) and `routing.api` (HTTP). Nothing here imports the call, desk or
complaint domains, except the engine telling the agents' screens (`app.desk.notifier`).
"""
