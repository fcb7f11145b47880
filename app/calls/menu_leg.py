"""The voice menu on a live call (R2, R4-R8, R14): the pure interpreter (`ivr.interpreter`)
decides, this part carries its actions out against the telephony port — play (a key pressed
during a prompt stops it and counts: barge-in), timers, self-service lookups (R7), a message
(R8, `app.calls.voicemail`), the language (R5), a queue (R9, `app.calls.waiting`), the
closing thanks (R2). Every step of the caller's path is written to the call log.

Before the menu starts, what is known of the caller is read (an open complaint, R6; an
important customer, R11) without holding up the greeting, and a caller not yet in the archive
is added beside the call (R14).
"""

from __future__ import annotations

import asyncio
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.items import GraceElapsed, IvrTimer, LiveCall, LookupResult
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, Trigger
from app.calls.voicemail import Voicemail
from app.calls.waiting import QueueWaiting
from app.complaints import service as complaints
from app.customers import service as customers
from ivr import interpreter as ivr
from ivr import service as ivr_store
from ivr.lookup import LookupFailed, Lookups
from ivr.menu import HangupNode
from ivr.runtime import MenuRuntime

log = structlog.get_logger(__name__)


class MenuLeg:
    def __init__(self, runtime: CallRuntime, *, menus: MenuRuntime, lookups: Lookups,
                 voicemail: Voicemail, waiting: QueueWaiting,
                 sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.rt = runtime
        self.menus = menus
        self.lookups = lookups
        self.voicemail = voicemail
        self.waiting = waiting
        self.sessions = sessionmaker

    async def start(self, call: LiveCall, *, at_node: str | None) -> None:
        """Run the active menu from its start (or, after a restart, from the node it was at)."""
        call.menu = self.menus.current
        call.facts = await self._facts(call)
        doc, now = call.menu.doc, self.rt.clock.now()
        if call.language not in doc.languages:
            call.language = doc.default_language
        if call.state is CallState.answered:
            self.rt.fire(call, Trigger.ivr_started, ivr_version_id=call.menu.version_id,
                         detail={"ivr_version": call.menu.version_id})
        if at_node is not None and at_node in doc.nodes:
            result = ivr.resume(doc, call.facts, at_node, now, language=call.language)
        else:
            result = ivr.start(doc, call.facts, now, language=call.language)
        await self._apply(call, result)

    async def input(self, call: LiveCall, event: ivr.Input) -> None:
        """A key, a prompt's end, a timer, a lookup's answer, a message recorded."""
        if call.state is not CallState.in_ivr or call.ivr is None or call.menu is None:
            return
        if call.hangup_requested and not isinstance(event, (ivr.TimerFired, ivr.LookupDone)):
            return
        result = ivr.step(call.menu.doc, call.facts, call.ivr, event, self.rt.clock.now())
        await self._apply(call, result)

    def prompt_done(self, call: LiveCall, playback_id: str) -> ivr.PromptDone | None:
        """The menu's prompt that ended, if the playback was one (`<call>.ivr<token>`)."""
        prefix = f"{call.id}.ivr"
        if call.state is CallState.in_ivr and playback_id.startswith(prefix):
            token = playback_id.removeprefix(prefix)
            if token.isdigit():
                return ivr.PromptDone(int(token))
        return None

    def saying_goodbye(self, call: LiveCall) -> bool:
        """The menu's own thanks play (a hangup node, R2): the call ran its course."""
        if call.ivr is None or call.menu is None:
            return False
        return isinstance(call.menu.doc.nodes.get(call.ivr.node), HangupNode)

    async def resync(self, call: LiveCall) -> None:
        """After a drop: a prompt that ended unseen moves the menu on; after a restart the
        menu starts again at the node the caller was at."""
        if call.ivr is None:  # the service restarted meanwhile
            await self.start(call, at_node=call.ivr_node)
            return
        if call.ivr.phase in (ivr.Phase.prompt, ivr.Phase.answer, ivr.Phase.saved) and (
                await self.rt.telephony.get_playback(f"{call.id}.ivr{call.ivr.token}") is None):
            await self.input(call, ivr.PromptDone(call.ivr.token))

    def release(self, call: LiveCall) -> None:
        if call.lookup is not None and not call.lookup.done():
            call.lookup.cancel()
        call.lookup = None

    # -- the caller -------------------------------------------------------------------------
    async def _facts(self, call: LiveCall) -> ivr.Facts:
        """What we know of the caller before the menu: an open complaint (R6), important (R11).
        Read-only, so that the greeting is never held up; a caller not yet in the archive is
        added next to the menu (`_archive`)."""
        customer = None
        try:  # R21: "unknown" after a short while, never a caller held up by Postgres
            async with asyncio.timeout(self.rt.settings.call_read_timeout_seconds):
                async with self.sessions() as session:
                    customer = await customers.by_phone(session=session, number=call.caller_number)
                    open_complaint = await complaints.has_open(
                        session=session, customer_number=customers.normalise(call.caller_number))
            call.priority = customers.priority(customer)
        except Exception as exc:  # noqa: BLE001 - without it the caller takes the main menu
            log.warning("call.facts_unavailable", error=repr(exc))
            open_complaint = False
        self._archive(call, customer.id if customer is not None else None)
        return ivr.Facts(caller_number=call.caller_number, has_open_complaint=open_complaint)

    def _archive(self, call: LiveCall, customer_id: uuid.UUID | None) -> None:
        """R14: every caller with a number is in the archive; the first call adds them. In the
        background: many first calls from one number at once wait on each other's insert. A
        known customer's link is a call row update like any other (the call log, #9)."""
        if customer_id is not None:
            call.customer_id = customer_id
            self.rt.update(call, customer_id=customer_id)
            return
        if customers.normalise(call.caller_number) is None:
            return

        async def link() -> None:
            try:
                async with self.sessions() as session, session.begin():
                    found = (await customers.match_or_create(
                        session=session, number=call.caller_number, language=call.language)).id
                call.customer_id = found
                self.rt.update(call, customer_id=found)  # behind the call's row, in order
            except Exception as exc:  # noqa: BLE001 - the call goes on without the link
                log.warning("call.customer_unlinked", error=repr(exc))

        self.rt.background(link(), name=f"archive:{call.channel_id}")

    # -- the interpreter's actions ----------------------------------------------------------
    async def _apply(self, call: LiveCall, result: ivr.Result) -> None:
        """Carry out the interpreter's actions, in order."""
        call.ivr = result.state
        assert call.menu is not None
        rt = self.rt
        if result.state.node != call.ivr_node:  # where the caller is now (kept for a restart)
            call.ivr_node = result.state.node
            rt.update(call, ivr_node=call.ivr_node)
        for action in result.actions:
            match action:
                case ivr.IvrStep():
                    await self._record_step(call, action)
                case ivr.Play():
                    media = [call.menu.media(rt.settings.prompt_dir, name, call.language)
                             for name in action.prompts]
                    await rt.telephony.play(call.channel_id, media,
                                            playback_id=f"{call.id}.ivr{action.token}",
                                            lang=call.language)
                case ivr.StopPlayback():
                    await rt.telephony.stop_playback(f"{call.id}.ivr{action.token}")
                case ivr.StartTimer():
                    rt.schedule(call, "ivr", action.seconds, IvrTimer(call.channel_id, action.token))
                case ivr.Lookup():
                    self._lookup(call, action)
                case ivr.Record():
                    await self.voicemail.record(call, str(action.token), action.max_seconds)
                case ivr.SetLanguage():
                    call.language = action.language
                    rt.update(call, language=action.language)
                case ivr.EnterQueue():
                    await self.waiting.enter(call, action)
                case ivr.Hangup():
                    rt.fire(call, Trigger.ivr_finished)
                    rt.schedule(call, "grace", rt.settings.closing_grace_seconds,
                                GraceElapsed(call.channel_id))

    def _lookup(self, call: LiveCall, action: ivr.Lookup) -> None:
        """R7: self-service, beside the call's worker; its answer comes back as an item."""
        assert call.menu is not None
        doc, language, number = call.menu.doc, call.language, call.caller_number

        async def run() -> None:
            try:
                answer: tuple[str, ...] | None = await self.lookups.run(
                    action.provider, action.digits, doc=doc, caller_number=number,
                    language=language)
            except LookupFailed as exc:
                log.warning("ivr.lookup_failed", error=str(exc))
                answer = None
            self.rt.submit(call.channel_id, LookupResult(call.channel_id, action.token, answer))

        call.lookup = asyncio.create_task(run(), name=f"lookup:{call.channel_id}")

    async def _record_step(self, call: LiveCall, step: ivr.IvrStep) -> None:
        if not call.persisted:
            return
        if call.ivr_steps is None:  # a call taken over after a restart: count on from its path
            async with self.sessions() as session:
                call.ivr_steps = await ivr_store.last_step(session=session, call_id=call.id)
        call.ivr_steps += 1
        self.rt.call_log.ivr_step(call_id=call.id, seq=call.ivr_steps, at=self.rt.clock.now(),
                                  node=step.node, input=step.input, outcome=step.outcome)
