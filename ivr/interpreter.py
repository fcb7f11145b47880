"""The IVR interpreter: pure and deterministic.

`start` and `step` take the menu, what we know of the caller (`Facts`), the interpreter's state
and one input (a key, a prompt that finished, a timer, a lookup's answer, a recording) and return
the new state and the actions the call must carry out. No I/O, no clock reading: `now` is passed
in (for business hours), timers are actions with a token, and an input carrying a stale token
(a prompt stopped by barge-in, a timer overtaken by a key) is ignored.

Behaviour (R4, R5, R7, R8):
- a menu's prompt can be interrupted by a key (barge-in), which counts;
- after `max_retries` invalid keys or timeouts the caller goes to a human agent, never a hang-up;
- a lookup collects several digits, ended by `#`, by `max_digits`, or by the inter-digit timeout;
  a failed lookup says so and falls back to `on_failure` (an agent), never to silence;
- every decision is also an `IvrStep` action, so the caller's path is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from ivr.hours import is_open
from ivr.menu import (
    HangupNode, HoursNode, IfOpenComplaintNode, LanguageNode, LookupNode, MenuDocument, MenuNode,
    PlayNode, QueueNode, VoicemailNode, WebhookProvider,
)


# -- inputs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Digit:
    digit: str


@dataclass(frozen=True)
class PromptDone:
    token: int


@dataclass(frozen=True)
class TimerFired:
    token: int


@dataclass(frozen=True)
class LookupDone:
    """The provider's answer as prompt names to speak; None when the lookup failed."""

    token: int
    answer: tuple[str, ...] | None


@dataclass(frozen=True)
class RecordingDone:
    token: int
    saved: bool


Input = Digit | PromptDone | TimerFired | LookupDone | RecordingDone


# -- actions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    token: int
    prompts: tuple[str, ...]
    barge_in: bool


@dataclass(frozen=True)
class StopPlayback:
    token: int


@dataclass(frozen=True)
class StartTimer:
    token: int
    seconds: float


@dataclass(frozen=True)
class Lookup:
    token: int
    provider: str | WebhookProvider
    digits: str


@dataclass(frozen=True)
class Record:
    token: int
    max_seconds: int


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class EnterQueue:
    queue: str
    call_type: str
    skills: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class IvrStep:
    """One step of the caller's path: at `node`, on `input`, the IVR went to/did `outcome`."""

    node: str
    input: str
    outcome: str


Action = Play | StopPlayback | StartTimer | Lookup | Record | SetLanguage | EnterQueue | Hangup | IvrStep


# -- state --------------------------------------------------------------------------------------
class Phase(StrEnum):
    prompt = "prompt"        # the node's prompt plays (a menu or lookup prompt takes barge-in)
    waiting = "waiting"      # prompt over; a timer runs for the caller's key
    collecting = "collecting"  # lookup: digits are coming in
    lookup = "lookup"        # waiting for the provider
    answer = "answer"        # speaking the lookup's answer (or its failure)
    recording = "recording"  # voicemail
    saved = "saved"          # "your message has been saved"
    done = "done"            # handed over (queue) or hung up: the IVR has nothing more to do


@dataclass(frozen=True)
class Facts:
    """What the IVR knows of the caller, looked up before it starts."""

    caller_number: str | None = None
    has_open_complaint: bool = False


@dataclass(frozen=True)
class IvrState:
    node: str
    language: str
    phase: Phase = Phase.prompt
    token: int = 0
    retries: int = 0
    digits: str = ""
    lookup_ok: bool = True


@dataclass
class Result:
    state: IvrState
    actions: list[Action] = field(default_factory=list)


class IvrLoop(RuntimeError):
    """The menu moved between nodes that need no input without end (the lint prevents this)."""


# -- the interpreter ----------------------------------------------------------------------------
def start(doc: MenuDocument, facts: Facts, now: datetime, *, language: str | None = None) -> Result:
    """Enter the menu's start node."""
    state = IvrState(node=doc.start, language=language or doc.default_language)
    return _enter(doc, facts, state, doc.start, now, [])


def resume(doc: MenuDocument, facts: Facts, node: str, now: datetime, *, language: str) -> Result:
    """Enter `node` afresh (a call taken over after a restart of the service)."""
    return _enter(doc, facts, IvrState(node=node, language=language), node, now, [])


def step(doc: MenuDocument, facts: Facts, state: IvrState, event: Input, now: datetime) -> Result:
    """Handle one input in `state`; stale or unexpected inputs change nothing."""
    if state.phase is Phase.done:
        return Result(state)
    node = doc.nodes[state.node]
    match event:
        case Digit(digit=digit):
            return _on_digit(doc, facts, state, node, digit, now)
        case PromptDone(token=token) if token == state.token:
            return _on_prompt_done(doc, facts, state, node, now)
        case TimerFired(token=token) if token == state.token:
            return _on_timeout(doc, facts, state, node, now)
        case LookupDone(token=token, answer=answer) if (
                token == state.token and state.phase is Phase.lookup):
            assert isinstance(node, LookupNode)
            if not answer:  # no answer (or an empty one): say so, never silence
                return _play(state, [IvrStep(node=state.node, input=_logged(node, state.digits),
                                             outcome="lookup_failed")],
                             ("lookup_failed",), barge_in=False, phase=Phase.answer,
                             lookup_ok=False)
            return _play(state, [IvrStep(node=state.node, input=_logged(node, state.digits),
                                         outcome="answered")],
                         answer, barge_in=False, phase=Phase.answer, lookup_ok=True)
        case RecordingDone(token=token, saved=saved) if (
                token == state.token and state.phase is Phase.recording):
            assert isinstance(node, VoicemailNode)
            outcome = "message_saved" if saved else "no_message"
            steps: list[Action] = [IvrStep(node=state.node, input="recording", outcome=outcome)]
            if saved:
                return _play(state, steps, ("message_saved",), barge_in=False, phase=Phase.saved)
            return _enter(doc, facts, state, node.next, now, steps)
    return Result(state)


def _logged(node: LookupNode, digits: str) -> str:
    """The digits as the path keeps them. A webhook may ask for anything (an account or ID
    number), so only its last four digits are kept (R20); complaint numbers are kept whole."""
    if isinstance(node.provider, WebhookProvider) and len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits


def _next_token(state: IvrState) -> int:
    return state.token + 1


def _play(state: IvrState, actions: list[Action], prompts: tuple[str, ...] | list[str], *,
          barge_in: bool, phase: Phase = Phase.prompt, **changes: object) -> Result:
    token = _next_token(state)
    new = replace(state, phase=phase, token=token, **changes)  # type: ignore[arg-type]
    return Result(new, [*actions, Play(token=token, prompts=tuple(prompts), barge_in=barge_in)])


def _timer(state: IvrState, actions: list[Action], seconds: float, phase: Phase,
           **changes: object) -> Result:
    token = _next_token(state)
    new = replace(state, phase=phase, token=token, **changes)  # type: ignore[arg-type]
    return Result(new, [*actions, StartTimer(token=token, seconds=seconds)])


def _enter(doc: MenuDocument, facts: Facts, state: IvrState, name: str, now: datetime,
           actions: list[Action]) -> Result:
    """Go to node `name`, passing straight through nodes that need no input."""
    for _ in range(len(doc.nodes) + 1):
        node = doc.nodes[name]
        state = replace(state, node=name, retries=0, digits="", lookup_ok=True)
        match node:
            case HoursNode():
                opened = is_open(node, now)
                target = node.open if opened else node.closed
                actions.append(IvrStep(node=name, input="open" if opened else "closed",
                                       outcome=target))
                name = target
            case LanguageNode():
                state = replace(state, language=node.language)
                actions += [SetLanguage(node.language),
                            IvrStep(node=name, input="", outcome=node.next)]
                name = node.next
            case IfOpenComplaintNode():
                target = node.then if facts.has_open_complaint else node.otherwise
                actions.append(IvrStep(node=name, input="open_complaint" if facts.has_open_complaint
                                       else "none", outcome=target))
                name = target
            case MenuNode() | LookupNode():
                return _play(state, actions, node.prompt, barge_in=True)
            case PlayNode() | HangupNode() | VoicemailNode():
                return _play(state, actions, node.prompt, barge_in=False)
            case QueueNode():
                if node.prompt:
                    return _play(state, actions, node.prompt, barge_in=False)
                return _queue(state, node, actions)
    raise IvrLoop(f"no input asked for after {len(doc.nodes) + 1} nodes (at {name!r})")


def _queue(state: IvrState, node: QueueNode, actions: list[Action]) -> Result:
    language = node.language or state.language
    actions += [IvrStep(node=state.node, input="", outcome=f"queue:{node.queue}"),
                EnterQueue(queue=node.queue, call_type=node.call_type, skills=tuple(node.skills),
                           language=language)]
    return Result(replace(state, phase=Phase.done), actions)


def _on_prompt_done(doc: MenuDocument, facts: Facts, state: IvrState, node: object,
                    now: datetime) -> Result:
    match node:
        case MenuNode() if state.phase is Phase.prompt:
            return _timer(state, [], node.timeout_seconds, Phase.waiting)
        case LookupNode() if state.phase is Phase.prompt:
            return _timer(state, [], node.first_digit_timeout_seconds, Phase.collecting)
        case LookupNode() if state.phase is Phase.answer:
            target = node.next if state.lookup_ok else node.on_failure
            return _enter(doc, facts, state, target, now,
                          [IvrStep(node=state.node, input="", outcome=target)])
        case PlayNode():
            return _enter(doc, facts, state, node.next, now,
                          [IvrStep(node=state.node, input="", outcome=node.next)])
        case QueueNode():
            return _queue(state, node, [])
        case HangupNode():
            return Result(replace(state, phase=Phase.done),
                          [IvrStep(node=state.node, input="", outcome="hangup"), Hangup()])
        case VoicemailNode() if state.phase is Phase.prompt:
            token = _next_token(state)
            return Result(replace(state, phase=Phase.recording, token=token),
                          [Record(token=token, max_seconds=node.max_seconds)])
        case VoicemailNode() if state.phase is Phase.saved:
            return _enter(doc, facts, state, node.next, now,
                          [IvrStep(node=state.node, input="", outcome=node.next)])
    return Result(state)


def _on_digit(doc: MenuDocument, facts: Facts, state: IvrState, node: object, digit: str,
              now: datetime) -> Result:
    barge: list[Action] = [StopPlayback(token=state.token)] if state.phase is Phase.prompt else []
    match node:
        case MenuNode() if state.phase in (Phase.prompt, Phase.waiting):
            # Bump the token so the stopped prompt's PromptDone is stale.
            state = replace(state, token=_next_token(state))
            target = node.options.get(digit)
            if target is None:
                return _retry(doc, facts, state, node, now, barge, f"invalid:{digit}",
                              node.invalid_prompt)
            return _enter(doc, facts, state, target, now,
                          [*barge, IvrStep(node=state.node, input=digit, outcome=target)])
        case LookupNode() if state.phase in (Phase.prompt, Phase.collecting):
            state = replace(state, token=_next_token(state))
            if digit == "#":
                return _finish_entry(doc, facts, state, node, now, barge)
            if not digit.isdigit():
                return _timer(state, barge, node.inter_digit_timeout_seconds, Phase.collecting)
            digits = state.digits + digit
            state = replace(state, digits=digits)
            if len(digits) >= node.max_digits:
                return _finish_entry(doc, facts, state, node, now, barge)
            return _timer(state, barge, node.inter_digit_timeout_seconds, Phase.collecting)
    return Result(state)  # keys mean nothing here (a play, a recording, an answer)


def _finish_entry(doc: MenuDocument, facts: Facts, state: IvrState, node: LookupNode,
                  now: datetime, actions: list[Action]) -> Result:
    if len(state.digits) < node.min_digits:
        return _retry(doc, facts, state, node, now, actions,
                      f"invalid:{state.digits or '#'}", node.invalid_prompt)
    token = _next_token(state)
    return Result(replace(state, phase=Phase.lookup, token=token),
                  [*actions, Lookup(token=token, provider=node.provider, digits=state.digits)])


def _on_timeout(doc: MenuDocument, facts: Facts, state: IvrState, node: object,
                now: datetime) -> Result:
    match node:
        case MenuNode() if state.phase is Phase.waiting:
            return _retry(doc, facts, state, node, now, [], "timeout", node.timeout_prompt)
        case LookupNode() if state.phase is Phase.collecting:
            if state.digits:  # the inter-digit timeout ends the entry
                return _finish_entry(doc, facts, state, node, now, [])
            return _retry(doc, facts, state, node, now, [], "timeout", node.timeout_prompt)
    return Result(state)


def _retry(doc: MenuDocument, facts: Facts, state: IvrState, node: MenuNode | LookupNode,
           now: datetime, actions: list[Action], what: str, feedback: list[str]) -> Result:
    """An invalid key or no key: say so and ask again; after max_retries, a human (R4)."""
    retries = state.retries + 1
    if retries >= node.max_retries:
        target = (node.options[doc.lint.agent_key] if isinstance(node, MenuNode)
                  else node.on_failure)
        return _enter(doc, facts, state, target, now,
                      [*actions, IvrStep(node=state.node, input=what, outcome=f"fallback:{target}")])
    actions = [*actions, IvrStep(node=state.node, input=what, outcome="retry")]
    return _play(state, actions, (*feedback, *node.prompt), barge_in=True, retries=retries,
                 digits="")
