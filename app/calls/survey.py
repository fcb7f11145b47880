"""R17: the satisfaction survey after an agent call, for queues that opt in (`queues.survey`):
when the agent hangs up while the caller is still on the line, the caller hears "please rate
... press 1 to 5"; the key is the score, stored on the call (`calls.satisfaction`). A wrong key
or silence repeats the question once, then the caller is thanked and the call ends
(`app.surveys.rules` decides). A mixin of `CallFlow`, run in the call's own worker."""

from __future__ import annotations

from typing import Any

import structlog

from app.calls.items import LiveCall, SurveyTimer
from app.calls.state import CallState, Trigger
from app.surveys import rules as survey

log = structlog.get_logger(__name__)


class SurveyMixin:
    """Needs from CallFlow: settings, telephony, acd, _fire, _schedule, _cancel_timer, _safely,
    _system_media, _update_call, clock."""

    settings: Any
    telephony: Any
    acd: Any
    clock: Any

    async def _offer_survey(self, call: LiveCall) -> bool:
        """The agent hung up first: ask the caller to rate the call if the queue wants it."""
        config = self.acd.queue(call.queue or "")
        if call.hangup_requested or config is None or not config.survey:
            return False
        await self._fire(call, Trigger.survey_started, detail={"queue": call.queue})
        await self._survey_apply(call, *survey.start())
        return True

    async def _survey_apply(self, call: LiveCall, state: survey.SurveyState,
                            action: survey.Action) -> None:
        call.survey = state
        match action:
            case survey.Ask(prompts=prompts, token=token):
                await self.telephony.play(call.channel_id, self._system_media(call, prompts),
                                          playback_id=f"{call.id}.survey{token}",
                                          lang=call.language)
            case survey.Finish(score=score, prompts=prompts):
                self._cancel_timer(call, "survey")
                now = self.clock.now()
                scored = {"satisfaction": score, "satisfaction_at": now} if score else {}
                await self._fire(call, Trigger.survey_done, at=now, detail={"score": score},
                                 **scored)
                log.info("call.survey_done", score=score)
                # The thanks play as the closing words: then the caller may hang up first (R2).
                await self.telephony.play(call.channel_id, self._system_media(call, prompts),
                                          playback_id=f"{call.id}.{CallState.closing}",
                                          lang=call.language)

    async def _survey_key(self, call: LiveCall, digit: str) -> None:
        if call.survey is None or call.hangup_requested:
            return
        self._cancel_timer(call, "survey")
        await self._safely(self.telephony.stop_playback(f"{call.id}.survey{call.survey.token}"))
        await self._survey_apply(call, *survey.on_key(call.survey, digit))

    async def _survey_silence(self, call: LiveCall, token: int) -> None:
        if call.state is CallState.survey and call.survey is not None and call.survey.token == token:
            await self._survey_apply(call, *survey.on_silence(call.survey))

    def _survey_prompt_done(self, call: LiveCall, playback_id: str) -> bool:
        """The question has been asked: the caller has a few seconds for a key."""
        if call.state is not CallState.survey or call.survey is None:
            return False
        if playback_id != f"{call.id}.survey{call.survey.token}":
            return playback_id.startswith(f"{call.id}.survey")  # a stale one: ignore it
        self._schedule(call, "survey", self.settings.survey_timeout_seconds,
                       SurveyTimer(call.channel_id, call.survey.token))
        return True

    async def _resync_survey(self, call: LiveCall) -> None:
        """After a drop or restart: without the survey's state, thank the caller and finish."""
        if call.survey is None:
            await self._survey_apply(call, survey.SurveyState(), survey.Finish(None, (survey.THANKS,)))
        elif await self.telephony.get_playback(f"{call.id}.survey{call.survey.token}") is None:
            self._survey_prompt_done(call, f"{call.id}.survey{call.survey.token}")
