"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ARI_EVENTS = Counter("hotline_ari_events_total", "ARI events received, by type", ["type"])
EVENT_HANDLING_SECONDS = Histogram(
    "hotline_event_handling_seconds", "Time to handle one call item (event or timer), by kind",
    ["item"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
ARI_REQUESTS = Counter("hotline_ari_requests_total", "ARI REST requests made, by method",
                       ["method"])
ARI_CONNECTED = Gauge("hotline_ari_connected", "1 while the ARI event stream is connected")
SCREEN_POP_SECONDS = Histogram(
    "hotline_screen_pop_seconds",
    "From an agent's phone starting to ring to the screen pop: sent by us, shown by the page (R3)",
    ["stage"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5))
# Our own latencies (#9), on the injected clock's monotonic source; buckets fine enough for a
# p99 against a 20 ms bar.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175,
                   0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5)
EVENT_TO_ACTION_SECONDS = Histogram(
    "hotline_event_to_action_seconds",
    "From an ARI event reaching the service to the first ARI request its handling makes",
    ["event"], buckets=LATENCY_BUCKETS)
QUEUE_TO_RING_SECONDS = Histogram(
    "hotline_queue_to_ring_seconds",
    "From the moment a waiting call and a ready agent meet (the later of queue entry and the "
    "agent becoming ready) to: the ACD's offer, our originate to the agent's phone answered by "
    "Asterisk, the agent's phone ringing as we hear of it",
    ["stage"], buckets=LATENCY_BUCKETS)
# R21 (#15): the write-behind writers (app/ordered_writer.py) during a Postgres outage; their
# backlog (hotline_writer_pending_writes, hotline_writer_oldest_pending_seconds) is read from
# the writers when scraped.
WRITER_REFUSED = Counter("hotline_writer_refused_writes_total",
                         "Writes refused because a writer already held its maximum pending",
                         ["writer"])
WRITER_LOST = Counter("hotline_writer_lost_writes_total",
                      "Writes never stored: a bad row, or pending when the writer closed",
                      ["writer"])
WRITER_RETRIES = Counter("hotline_writer_retries_total",
                         "Attempts to store that failed because Postgres could not be reached "
                         "(the writes are kept and tried again)", ["writer"])

# R21 (#15): the lease that makes one instance of several the active one (app/lease.py).
LEASE_ACTIVE = Gauge("hotline_lease_active", "1 while this instance holds the lease (active)")
LEASE_CHANGES = Counter("hotline_lease_changes_total",
                        "This instance's lease role changes, by the role it went to", ["to"])
ARI_FENCED = Counter("hotline_ari_requests_fenced_total",
                     "ARI requests refused because this instance does not hold the lease")
