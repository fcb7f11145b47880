"""ARI failures as our own exception types; the HTTP edge maps them to stable error ids."""

from __future__ import annotations


class AriError(Exception):
    """Asterisk answered a request with an error."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AriUnavailable(AriError):
    """Asterisk could not be reached (refused, timed out, 5xx): callers answer 503."""


class AriNotFound(AriError):
    """404: the channel, bridge, playback or recording does not exist (any more)."""


class AriConflict(AriError):
    """409: the object is not in a state for that (e.g. channel not in our Stasis app)."""


class AriBadRequest(AriError):
    """400/422: we sent something Asterisk refused; a bug on our side."""
