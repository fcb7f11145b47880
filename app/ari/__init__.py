"""Our own small ARI client: REST over httpx (`client`), typed events (`events`) from the
websocket stream (`stream`), which reconnects with backoff (`backoff`). Nothing else in the code
base speaks ARI's wire format.
"""

from app.ari.client import AriClient
from app.ari.errors import AriConflict, AriError, AriNotFound, AriUnavailable
from app.ari.stream import EventStream

__all__ = ["AriClient", "AriConflict", "AriError", "AriNotFound", "AriUnavailable", "EventStream"]
