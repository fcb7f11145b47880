"""R8: a caller's message, one part for the menu's `voicemail` node and a queue's voicemail
overflow.

The menu's node records after its own prompt (`record`); the overflow plays its prompt first
(`to_overflow`), then records. Asterisk records the caller (a beep first; `#`, silence or
hanging up ends it); when the recording finishes the message is fetched through ARI into our
storage with the caller's number and a call-back task (`save`). A caller who hangs up while
recording keeps their message (`release`). The message's progress is its own small machine
(`app.calls.state.MessageState`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.ari.errors import AriError, AriNotFound
from app.callbacks import service as callbacks
from app.calls.items import LiveCall
from app.calls.promises import Promises
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, MessageEvent, MessageState, Trigger
from routing import overflow

log = structlog.get_logger(__name__)


class Voicemail:
    def __init__(self, runtime: CallRuntime, promises: Promises) -> None:
        self.rt = runtime
        self.promises = promises

    # -- the menu's node and the overflow ---------------------------------------------------
    async def record(self, call: LiveCall, tag: str, max_seconds: int) -> None:
        """Record the caller's message (a beep first; `#`, silence or hanging up ends it)."""
        call.message_step(MessageEvent.record)
        call.recording = f"voicemail-{call.id}-{tag}"
        await self.rt.telephony.record(call.channel_id, name=call.recording,
                                       max_seconds=max_seconds)

    async def to_overflow(self, call: LiveCall, queue: str, routed: overflow.Routed,
                          why: str) -> None:
        """The queue's overflow is voicemail: its prompt, then the caller leaves a message."""
        settings = routed.decision
        assert isinstance(settings, overflow.ToVoicemail)
        call.overflowed, call.voicemail = True, settings
        self.rt.fire(call, Trigger.to_voicemail,
                     detail={"queue": queue, "why": why, "overflow": "voicemail",
                             "via": list(routed.via), "max_seconds": settings.max_seconds},
                     **({"ivr_outcome": f"queue:{queue}"} if call.state is CallState.in_ivr
                        else {}))
        call.message_step(MessageEvent.prompt)
        await self.rt.play(call, call.channel_id, settings.prompt,
                           playback_id=f"{call.id}.voicemail")

    def prompt_done(self, call: LiveCall, playback_id: str) -> bool:
        """Whether the playback was the overflow's prompt (then the recording starts)."""
        return call.state is CallState.voicemail and playback_id == f"{call.id}.voicemail"

    async def after_prompt(self, call: LiveCall) -> None:
        if call.message is MessageState.prompting:
            await self.record(call, "overflow", (call.voicemail or overflow.ToVoicemail()).max_seconds)

    # -- the recording's end ----------------------------------------------------------------
    def is_ours(self, call: LiveCall, recording: str) -> bool:
        return call.message is MessageState.recording and recording == call.recording

    async def finished(self, call: LiveCall, duration: int | None, *, recorded: bool) -> bool:
        """Asterisk finished (or failed) the recording: keep the message; whether one was left."""
        saved = recorded and await self.save(call, duration)
        if call.message is MessageState.recording:
            call.message_step(MessageEvent.saved if saved else MessageEvent.empty)
        return saved

    async def overflow_done(self, call: LiveCall, saved: bool) -> None:
        """The overflow's message ended: thanks (with no message, the promise of a call-back)."""
        if call.hangup_requested or call.state is not CallState.voicemail:
            return  # the hang-up ends the call (`release` keeps the message)
        if not saved:
            await self.promises.no_agent(call, "left no message")
        self.rt.fire(call, Trigger.message_done, detail={"message_left": saved})
        await self.rt.say(call, ("voicemail_saved", "thanks") if saved
                          else ("queue_unavailable", "thanks"))

    async def save(self, call: LiveCall, duration: int | None) -> bool:
        """R8: fetch the message from Asterisk (ARI), keep it in our storage, open a call-back."""
        if call.recording is None or call.message is not MessageState.recording:
            return call.message is MessageState.saved
        name = call.recording
        data = b""
        for _ in range(10):  # the file is finalised as the recording ends
            try:
                data = await self.rt.telephony.stored_recording_file(name)
                break
            except AriNotFound:
                await asyncio.sleep(0.1)
        if len(data) <= 44 or (duration is not None and duration < 1):  # a WAV header: nothing said
            log.info("call.voicemail_empty", recording=name)
            return False
        day = self.rt.clock.now().strftime("%Y/%m/%d")
        relative = Path("voicemail") / day / f"{name}.wav"
        await asyncio.to_thread(_write_file, self.rt.settings.storage_dir / relative, data)
        # Kept on our disk now; its record and call-back task are written behind with the call
        # log, after the call's row (R21: stored when Postgres can take them).
        values = dict(call_id=call.id, caller_number=call.caller_number, language=call.language,
                      path=str(relative), fmt="wav",
                      duration_seconds=float(duration) if duration is not None else None,
                      size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                      **self.promises.terms())

        async def run(session: AsyncSession) -> None:
            voicemail, task = await callbacks.store_voicemail(session=session, **values)
            log.info("call.voicemail_stored", voicemail=str(voicemail.id), task=str(task.id))

        self.rt.call_log.job("callback.voicemail", run)
        call.message_step(MessageEvent.saved)
        call.left_message = True
        log.info("call.voicemail_saved", recording=name, bytes=len(data))
        try:
            await self.rt.telephony.delete_stored_recording(name)
        except AriError as exc:
            log.warning("call.voicemail_not_deleted_on_asterisk", error=str(exc))
        return True

    # -- the call goes ----------------------------------------------------------------------
    async def release(self, call: LiveCall) -> None:
        """The caller hung up: a message being recorded is kept; in the overflow without a
        message, the promise of a call-back."""
        if call.message is MessageState.recording:
            try:
                await self.finished(call, None, recorded=True)
            except Exception as exc:  # noqa: BLE001
                log.error("call.voicemail_lost", error=repr(exc))
        if call.state is CallState.voicemail and not call.left_message:
            await self.rt.safely(self.promises.no_agent(call, "left no message"))

    async def resync(self, call: LiveCall) -> None:
        """In the overflow after a drop: carry on. After a restart we know nothing of its
        recording: the caller is promised a call-back."""
        if call.voicemail is None:
            call.overflowed = True
            await self.overflow_done(call, False)
        elif call.message is MessageState.prompting and (
                await self.rt.telephony.get_playback(f"{call.id}.voicemail") is None):
            await self.after_prompt(call)


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # R20 (#20): owner-only
    partial = target.with_suffix(".part")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    partial.rename(target)
