"""R17: the satisfaction survey, one part for inbound calls and call-backs alike.

The customer hears "please rate our service, 1 to 5" on their channel; the key is the score. A
wrong key or silence repeats the question once, then the customer is thanked
(`app.surveys.rules` decides, pure). Inbound calls ask it for queues that opt in
(`queues.survey`) when the agent leaves while the caller is still on the line; a complaint's
call-back asks it when the agent hangs up first. What a score means for the call (its row, the
complaint, what follows the thanks) is the owner's: `Survey` calls `finished(call, score,
prompts)` and the owner plays the thanks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from app.calls.items import SurveyTimer
from app.calls.runtime import CallRuntime
from app.surveys import rules as survey

log = structlog.get_logger(__name__)

Finished = Callable[[Any, int | None, tuple[str, ...]], Awaitable[None]]


class Survey:
    def __init__(self, runtime: CallRuntime, *, finished: Finished) -> None:
        self.rt = runtime
        self._finished = finished

    async def start(self, call: Any) -> None:
        await self._apply(call, *survey.start())

    async def key(self, call: Any, digit: str) -> None:
        """A key while the question plays or after it: the score, or the question again."""
        if call.survey is None:
            return
        self.rt.cancel(call, "survey")
        await self.rt.safely(self.rt.telephony.stop_playback(self._question(call)))
        await self._apply(call, *survey.on_key(call.survey, digit))

    async def silence(self, call: Any, token: int) -> None:
        if call.survey is not None and call.survey.token == token:
            await self._apply(call, *survey.on_silence(call.survey))

    def asked(self, call: Any, playback_id: str) -> bool:
        """The question has played: the customer has a few seconds for a key. Whether the
        playback was the survey's (a stale question is the survey's too, and ignored)."""
        if call.survey is None or playback_id != self._question(call):
            return call.survey is not None and playback_id.startswith(f"{call.id}.survey")
        self.rt.schedule(call, "survey", self.rt.settings.survey_timeout_seconds,
                         SurveyTimer(call.key, call.survey.token))
        return True

    async def resync(self, call: Any) -> None:
        """After a drop or restart: without the survey's state, thank the customer and finish;
        a question that ended unseen starts the wait for a key."""
        if call.survey is None:
            await self._apply(call, survey.SurveyState(), survey.Finish(None, (survey.THANKS,)))
        elif await self.rt.telephony.get_playback(self._question(call)) is None:
            self.asked(call, self._question(call))

    @staticmethod
    def _question(call: Any) -> str:
        return f"{call.id}.survey{call.survey.token}"

    async def _apply(self, call: Any, state: survey.SurveyState, action: survey.Action) -> None:
        call.survey = state
        match action:
            case survey.Ask(prompts=prompts, token=token):
                await self.rt.play(call, call.customer_channel, prompts,
                                   playback_id=f"{call.id}.survey{token}")
            case survey.Finish(score=score, prompts=prompts):
                self.rt.cancel(call, "survey")
                log.info("call.survey_done", score=score)
                await self._finished(call, score, prompts)
