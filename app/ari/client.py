"""ARI REST over one `httpx.AsyncClient`: the calls we make, typed, with errors mapped.

Every method raises `AriUnavailable` when Asterisk cannot be reached, `AriNotFound` for 404 and
`AriConflict` for 409, so callers decide per case and the HTTP edge answers 503 for the first.
With a `fence` (the lease's `held`, app/lease.py: R21), a request is made only while it says so;
otherwise it raises `AriUnavailable` without reaching Asterisk (a standby or fenced instance).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from app import latency
from app.ari.errors import AriBadRequest, AriConflict, AriError, AriNotFound, AriUnavailable
from app.ari.models import Bridge, Channel, LiveRecording, Playback
from app.config import AriSettings
from app.metrics import ARI_FENCED, ARI_REQUESTS

log = structlog.get_logger(__name__)


class AriClient:
    def __init__(self, settings: AriSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                 fence: Callable[[], bool] | None = None):
        self.settings = settings
        self.app = settings.app
        self._fence = fence
        self._http = httpx.AsyncClient(
            base_url=settings.url.rstrip("/") + "/ari",
            # Basic credentials as a fixed header: httpx's auth flow per request costs CPU (#9).
            headers={"Authorization": "Basic " + base64.b64encode(
                f"{settings.user}:{settings.password.get_secret_value()}".encode()).decode()},
            timeout=settings.request_timeout_seconds,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _check_fence(self, method: str, path: str) -> None:
        if self._fence is not None and not self._fence():
            ARI_FENCED.inc()
            raise AriUnavailable(f"ARI {method} {path} refused: this instance is a standby or "
                                 "fenced (it does not hold the lease)")

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       json: Any = None) -> Any:
        self._check_fence(method, path)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        latency.acted()  # the first request of an event's handling: its event-to-action time
        ARI_REQUESTS.labels(method=method).inc()
        try:
            resp = await self._http.request(method, path, params=clean, json=json)
        except httpx.TimeoutException as exc:
            raise AriUnavailable(f"ARI {method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise AriUnavailable(f"ARI {method} {path}: {exc!r}") from exc
        if resp.is_success:
            return resp.json() if resp.content else None
        message = _error_message(resp)
        text = f"ARI {method} {path} -> {resp.status_code}: {message}"
        if resp.status_code == 404:
            raise AriNotFound(text, status_code=404)
        if resp.status_code in (409, 412):
            raise AriConflict(text, status_code=resp.status_code)
        if resp.status_code in (400, 422):
            raise AriBadRequest(text, status_code=resp.status_code)
        if resp.status_code >= 500:
            raise AriUnavailable(text, status_code=resp.status_code)
        raise AriError(text, status_code=resp.status_code)

    # -- asterisk ---------------------------------------------------------------------------
    async def info(self) -> dict[str, Any]:
        return await self._request("GET", "/asterisk/info")

    async def set_global(self, name: str, value: str) -> None:
        """Set an Asterisk global variable (the dialplan reads it as `${GLOBAL(name)}`)."""
        await self._request("POST", "/asterisk/variable", params={"variable": name, "value": value})

    # -- channels ---------------------------------------------------------------------------
    async def list_channels(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in await self._request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.model_validate(await self._request("GET", f"/channels/{channel_id}"))

    async def answer(self, channel_id: str) -> None:
        await self._request("POST", f"/channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        await self._request("POST", f"/channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, *, reason: str = "normal") -> None:
        await self._request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    async def play(self, channel_id: str, media: list[str], *, playback_id: str,
                   lang: str | None = None) -> Playback:
        data = await self._request(
            "POST", f"/channels/{channel_id}/play/{playback_id}",
            params={"media": ",".join(media), "lang": lang},
        )
        return Playback.model_validate(data)

    async def originate(self, endpoint: str, *, channel_id: str, caller_id: str | None = None,
                        timeout: int = 30, app_args: str = "",
                        variables: dict[str, str] | None = None) -> Channel:
        """Call `endpoint`; the channel enters our Stasis app (with `app_args`) once answered."""
        data = await self._request(
            "POST", f"/channels/{channel_id}",
            params={"endpoint": endpoint, "app": self.app, "appArgs": app_args,
                    "callerId": caller_id, "timeout": timeout},
            json={"variables": variables or {}},
        )
        return Channel.model_validate(data)

    async def get_variable(self, channel_id: str, name: str) -> str | None:
        try:
            data = await self._request("GET", f"/channels/{channel_id}/variable",
                                       params={"variable": name})
        except AriNotFound:
            return None
        return data.get("value")

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self._request("POST", f"/channels/{channel_id}/variable",
                            params={"variable": name, "value": value})

    async def start_moh(self, channel_id: str, *, moh_class: str = "default") -> None:
        await self._request("POST", f"/channels/{channel_id}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self._request("DELETE", f"/channels/{channel_id}/moh")

    # -- playbacks --------------------------------------------------------------------------
    async def get_playback(self, playback_id: str) -> Playback | None:
        try:
            return Playback.model_validate(await self._request("GET", f"/playbacks/{playback_id}"))
        except AriNotFound:
            return None

    async def stop_playback(self, playback_id: str) -> None:
        try:
            await self._request("DELETE", f"/playbacks/{playback_id}")
        except AriNotFound:
            pass  # already finished

    # -- bridges ----------------------------------------------------------------------------
    async def create_bridge(self, bridge_id: str, *, kind: str = "mixing") -> Bridge:
        return Bridge.model_validate(
            await self._request("POST", f"/bridges/{bridge_id}", params={"type": kind}))

    async def get_bridge(self, bridge_id: str) -> Bridge | None:
        try:
            return Bridge.model_validate(await self._request("GET", f"/bridges/{bridge_id}"))
        except AriNotFound:
            return None

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._request("POST", f"/bridges/{bridge_id}/addChannel",
                            params={"channel": ",".join(channel_ids)})

    async def remove_from_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._request("POST", f"/bridges/{bridge_id}/removeChannel",
                            params={"channel": ",".join(channel_ids)})

    async def start_bridge_moh(self, bridge_id: str, *, moh_class: str = "default") -> None:
        await self._request("POST", f"/bridges/{bridge_id}/moh", params={"mohClass": moh_class})

    async def play_on_bridge(self, bridge_id: str, media: list[str], *, playback_id: str,
                             lang: str | None = None) -> Playback:
        data = await self._request("POST", f"/bridges/{bridge_id}/play/{playback_id}",
                                   params={"media": ",".join(media), "lang": lang})
        return Playback.model_validate(data)

    async def destroy_bridge(self, bridge_id: str) -> None:
        try:
            await self._request("DELETE", f"/bridges/{bridge_id}")
        except (AriNotFound, AriConflict):
            pass  # gone already, or going (Asterisk answers 409 while it tears it down)

    # -- recordings -------------------------------------------------------------------------
    async def record(self, channel_id: str, *, name: str, max_seconds: int,
                     fmt: str = "wav") -> None:
        """Record what the caller says (a voicemail): a beep first, `#` ends it."""
        await self._request("POST", f"/channels/{channel_id}/record", params={
            "name": name, "format": fmt, "maxDurationSeconds": max_seconds,
            "maxSilenceSeconds": 10, "beep": "true", "terminateOn": "#", "ifExists": "overwrite"})

    async def delete_stored_recording(self, name: str) -> None:
        try:
            await self._request("DELETE", f"/recordings/stored/{name}")
        except AriNotFound:
            pass

    async def record_bridge(self, bridge_id: str, *, name: str, fmt: str = "wav") -> LiveRecording:
        data = await self._request("POST", f"/bridges/{bridge_id}/record",
                                   params={"name": name, "format": fmt, "ifExists": "fail"})
        return LiveRecording.model_validate(data)

    async def get_live_recording(self, name: str) -> LiveRecording | None:
        """A recording Asterisk is writing now (None once it has finished or never was)."""
        try:
            return LiveRecording.model_validate(
                await self._request("GET", f"/recordings/live/{name}"))
        except AriNotFound:
            return None

    async def stop_live_recording(self, name: str) -> None:
        """Stop a live recording and keep the file (RecordingFinished follows); gone is fine."""
        try:
            await self._request("POST", f"/recordings/live/{name}/stop")
        except AriNotFound:
            pass

    async def mute_live_recording(self, name: str) -> None:
        """Silence is written from now on (the file's timeline keeps running)."""
        await self._request("POST", f"/recordings/live/{name}/mute")

    async def unmute_live_recording(self, name: str) -> None:
        await self._request("DELETE", f"/recordings/live/{name}/mute")

    async def stored_recordings(self) -> list[dict[str, Any]]:
        """Every stored recording: `{"name": ..., "format": ...}`."""
        return await self._request("GET", "/recordings/stored")

    async def stored_recording_file(self, name: str) -> bytes:
        self._check_fence("GET", f"/recordings/stored/{name}/file")
        try:
            resp = await self._http.get(f"/recordings/stored/{name}/file")
        except httpx.TransportError as exc:
            raise AriUnavailable(f"ARI recording {name}: {exc!r}") from exc
        if resp.status_code == 404:
            raise AriNotFound(f"no stored recording {name}", status_code=404)
        if not resp.is_success:
            raise AriUnavailable(f"ARI recording {name} -> {resp.status_code}",
                                 status_code=resp.status_code)
        return resp.content

    # -- endpoints and dynamic configuration (agents' registered phones) -------------------
    async def endpoint_state(self, technology: str, resource: str) -> str | None:
        """`online`, `offline` or `unknown` (a PJSIP endpoint is online while a contact is
        registered); None when Asterisk has no such endpoint."""
        try:
            data = await self._request("GET", f"/endpoints/{technology}/{resource}")
        except AriNotFound:
            return None
        return data.get("state")

    async def put_config_object(self, config_class: str, object_type: str, object_id: str,
                                fields: list[tuple[str, str]]) -> None:
        """Create or update a sorcery object (e.g. `res_pjsip` `endpoint`) through ARI push
        configuration; Asterisk needs a writable wizard (astdb) for the type in sorcery.conf."""
        await self._request(
            "PUT", f"/asterisk/config/dynamic/{config_class}/{object_type}/{object_id}",
            json={"fields": [{"attribute": a, "value": v} for a, v in fields]})

    async def delete_config_object(self, config_class: str, object_type: str,
                                   object_id: str) -> None:
        """Remove a pushed sorcery object; one that is not there is fine."""
        try:
            await self._request(
                "DELETE", f"/asterisk/config/dynamic/{config_class}/{object_type}/{object_id}")
        except AriNotFound:
            pass

    # -- applications -----------------------------------------------------------------------
    async def subscribe(self, event_source: str) -> None:
        """Subscribe our app to e.g. `channel:<id>` (re-attaching a call after a restart)."""
        await self._request("POST", f"/applications/{self.app}/subscription",
                            params={"eventSource": event_source})


def _error_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    return body.get("message", str(body)) if isinstance(body, dict) else str(body)
