"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ARI_EVENTS = Counter("hotline_ari_events_total", "ARI events received, by type", ["type"])
EVENT_HANDLING_SECONDS = Histogram(
    "hotline_event_handling_seconds", "Time to handle one call item (event or timer), by kind",
    ["item"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
ARI_CONNECTED = Gauge("hotline_ari_connected", "1 while the ARI event stream is connected")
SCREEN_POP_SECONDS = Histogram(
    "hotline_screen_pop_seconds",
    "From an agent's phone starting to ring to the screen pop: sent by us, shown by the page (R3)",
    ["stage"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5))
