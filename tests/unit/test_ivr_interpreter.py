"""The IVR interpreter (R4, R5, R7, R8), driven through scripts of caller inputs.

Every test feeds a script of inputs to `ivr.interpreter` with a fixed, injected `now` (no clock, no
sleeping) and looks at what came out: the caller's path (IvrStep), the prompts played, the timers
and the final action. The `Call` driver below fills in the current token for prompt-done, timer,
lookup and recording inputs, as the call layer would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from ivr.interpreter import (
    Action, Digit, EnterQueue, Facts, Hangup, IvrLoop, IvrState, IvrStep, Lookup, LookupDone, Phase,
    Play, PromptDone, Record, RecordingDone, SetLanguage, StartTimer, StopPlayback, TimerFired,
    start, step,
)
from ivr.menu import MenuDocument, WebhookProvider

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_FILE = Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml"
DEMO_RAW = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
DEMO = MenuDocument.model_validate(DEMO_RAW)

# A Wednesday morning in Shanghai: open under any schedule used below.
WED_10 = datetime(2025, 3, 12, 10, 0, tzinfo=SHANGHAI)


# -- the driver ---------------------------------------------------------------------------------
# Script items: ("digit", "1"), ("digits", "1234#") (one Digit per character), ("prompt_done",),
# ("timeout",), ("lookup", ("status_x",)), ("lookup_failed",), ("recorded", True), or a raw input
# (e.g. PromptDone(old_token)) to send a token of the test's choosing.
DONE = ("prompt_done",)
TIMEOUT = ("timeout",)


def key(digit: str) -> tuple[str, str]:
    return ("digit", digit)


def keys(digits: str) -> tuple[str, str]:
    return ("digits", digits)


@dataclass
class Call:
    doc: MenuDocument = DEMO
    facts: Facts = Facts()
    now: datetime = WED_10
    language: str | None = None
    state: IvrState = field(init=False)
    actions: list[Action] = field(init=False)

    def __post_init__(self) -> None:
        result = start(self.doc, self.facts, self.now, language=self.language)
        self.state, self.actions = result.state, list(result.actions)

    def send(self, *script: object) -> list[Action]:
        """Feed the script; returns the actions it produced (also appended to `actions`)."""
        produced: list[Action] = []
        for event in self._events(script):
            result = step(self.doc, self.facts, self.state, event, self.now)
            self.state = result.state
            produced += result.actions
        self.actions += produced
        return produced

    def _events(self, script):
        for item in script:
            if not isinstance(item, tuple):
                yield item  # a raw input
                continue
            kind, *args = item
            if kind == "digits":
                yield from (Digit(d) for d in args[0])
            elif kind == "digit":
                yield Digit(args[0])
            else:
                # Built lazily: the token is the state's token after the previous input.
                yield {
                    "prompt_done": lambda: PromptDone(self.state.token),
                    "timeout": lambda: TimerFired(self.state.token),
                    "lookup": lambda: LookupDone(self.state.token, args[0]),
                    "lookup_failed": lambda: LookupDone(self.state.token, None),
                    "recorded": lambda: RecordingDone(self.state.token, args[0]),
                }[kind]()

    # What came out, in readable form.
    @property
    def path(self) -> list[tuple[str, str, str]]:
        return [(a.node, a.input, a.outcome) for a in self.actions if isinstance(a, IvrStep)]

    @property
    def plays(self) -> list[tuple[str, ...]]:
        return [a.prompts for a in self.actions if isinstance(a, Play)]

    @property
    def timers(self) -> list[float]:
        return [a.seconds for a in self.actions if isinstance(a, StartTimer)]

    @property
    def last(self) -> Action:
        return self.actions[-1]

    def of(self, kind: type) -> list[Action]:
        return [a for a in self.actions if isinstance(a, kind)]

    def latest(self, kind: type) -> Action:
        return self.of(kind)[-1]


def plain(actions: list[Action]) -> list[tuple]:
    """Actions without their (opaque) tokens, for tables."""
    out: list[tuple] = []
    for a in actions:
        match a:
            case Play():
                out.append(("play", a.prompts, "barge-in" if a.barge_in else "no barge-in"))
            case StopPlayback():
                out.append(("stop",))
            case StartTimer():
                out.append(("timer", a.seconds))
            case Lookup():
                out.append(("lookup", a.provider, a.digits))
            case Record():
                out.append(("record", a.max_seconds))
            case SetLanguage():
                out.append(("language", a.language))
            case EnterQueue():
                out.append(("queue", a.queue, str(a.call_type), a.skills, a.language))
            case Hangup():
                out.append(("hangup",))
            case IvrStep():
                out.append(("step", a.node, a.input, a.outcome))
    return out


def demo_with(**hours: object) -> MenuDocument:
    """The demo menu with its hours node changed (a weekly schedule, holidays)."""
    raw = copy.deepcopy(DEMO_RAW)
    raw["nodes"]["hours"].update(hours)
    return MenuDocument.model_validate(raw)


def small_menu(nodes: dict, start: str = "main") -> MenuDocument:
    """A menu built in the test (the interpreter does not look at prompt texts)."""
    return MenuDocument.model_validate({
        "name": "test", "languages": ["zh", "en"], "default_language": "zh", "start": start,
        "prompts": {}, "nodes": nodes})


AGENT = {"kind": "queue", "queue": "general", "call_type": "consultation", "prompt": "transferring"}
GREETING_TO_MAIN = [("welcome", "", "hours"), ("hours", "open", "returning"),
                    ("returning", "none", "main")]


def in_main(**kwargs: object) -> Call:
    """A demo call whose greeting is over: the main menu prompt plays."""
    call = Call(**kwargs)
    call.send(DONE)
    assert call.state.node == "main" and call.state.phase is Phase.prompt
    return call


def in_lookup(**kwargs: object) -> Call:
    """A demo call at the complaint lookup (main menu "2"): its prompt plays."""
    call = in_main(**kwargs)
    call.send(key("2"))
    assert call.state.node == "lookup_complaint" and call.state.phase is Phase.prompt
    return call


# -- start (R2, R5, R6) -------------------------------------------------------------------------
def test_the_greeting_plays_without_barge_in_then_hours_and_returning_check_lead_to_the_main_menu():
    call = Call()
    assert plain(call.actions) == [("play", ("greeting",), "no barge-in")]
    assert call.state.node == "welcome"

    produced = call.send(DONE)

    assert plain(produced) == [
        ("step", "welcome", "", "hours"),
        ("step", "hours", "open", "returning"),
        ("step", "returning", "none", "main"),
        ("play", ("main_menu",), "barge-in"),
    ]
    assert (call.state.node, call.state.phase, call.state.language) == ("main", Phase.prompt, "zh")


def test_a_caller_with_an_open_complaint_goes_to_the_complaints_queue_after_the_prompts():
    call = Call(facts=Facts(caller_number="13800000000", has_open_complaint=True))
    produced = call.send(DONE)
    assert plain(produced) == [
        ("step", "welcome", "", "hours"),
        ("step", "hours", "open", "returning"),
        ("step", "returning", "open_complaint", "complaint_followup"),
        ("play", ("returning_complaint", "transferring"), "no barge-in"),
    ]
    assert not call.of(EnterQueue)  # not before the caller has heard the prompts

    assert plain(call.send(DONE)) == [
        ("step", "complaint_followup", "", "queue:complaints"),
        ("queue", "complaints", "complaint", (), "zh"),
    ]
    assert call.last == EnterQueue(queue="complaints", call_type="complaint", skills=(),
                                   language="zh")
    assert call.state.phase is Phase.done


def test_the_same_script_gives_the_same_actions():
    script = [DONE, key("7"), DONE, TIMEOUT, key("2"), keys("1234#"), ("lookup", ("status_x",))]
    first, second = Call(), Call()
    first.send(*script)
    second.send(*script)
    assert first.actions == second.actions and first.state == second.state


# -- menus (R4) ---------------------------------------------------------------------------------
@pytest.mark.parametrize("script, path, queue", [
    pytest.param([key("1"), DONE, key("2"), DONE],
                 [("main", "1", "consult"), ("consult", "2", "consult_billing"),
                  ("consult_billing", "", "queue:consultation")],
                 ("queue", "consultation", "consultation", ("billing",), "zh"), id="billing"),
    pytest.param([key("1"), key("1"), DONE],
                 [("main", "1", "consult"), ("consult", "1", "consult_products"),
                  ("consult_products", "", "queue:consultation")],
                 ("queue", "consultation", "consultation", ("products",), "zh"), id="products"),
    pytest.param([key("3"), DONE],
                 [("main", "3", "complaint"), ("complaint", "", "queue:complaints")],
                 ("queue", "complaints", "complaint", (), "zh"), id="complaint"),
    pytest.param([key("0"), DONE],
                 [("main", "0", "agent"), ("agent", "", "queue:general")],
                 ("queue", "general", "consultation", (), "zh"), id="agent-from-main"),
    pytest.param([key("1"), key("0"), DONE],
                 [("main", "1", "consult"), ("consult", "0", "agent"),
                  ("agent", "", "queue:general")],
                 ("queue", "general", "consultation", (), "zh"), id="agent-from-submenu"),
])
def test_menu_keys_lead_to_the_right_queue(script, path, queue):
    call = in_main()
    call.send(*script)
    assert call.path == GREETING_TO_MAIN + path
    assert plain([call.last]) == [queue]
    assert len(call.of(EnterQueue)) == 1 and not call.of(Hangup)


def test_consult_then_billing_enters_the_queue_only_after_the_transferring_prompt_finished():
    call = in_main()
    assert plain(call.send(key("1"))) == [
        ("stop",), ("step", "main", "1", "consult"), ("play", ("consult_menu",), "barge-in")]
    assert plain(call.send(DONE)) == [("timer", 5.0)]
    assert plain(call.send(key("2"))) == [
        ("step", "consult", "2", "consult_billing"), ("play", ("transferring",), "no barge-in")]
    assert call.send(key("5")) == []  # a key during the transferring prompt means nothing

    assert plain(call.send(DONE)) == [
        ("step", "consult_billing", "", "queue:consultation"),
        ("queue", "consultation", "consultation", ("billing",), "zh"),
    ]
    assert call.last == EnterQueue(queue="consultation", call_type="consultation",
                                   skills=("billing",), language="zh")


def test_star_in_the_submenu_returns_to_the_main_menu():
    call = in_main()
    call.send(key("1"))
    produced = call.send(key("*"))
    assert plain(produced) == [
        ("stop",), ("step", "consult", "*", "main"), ("play", ("main_menu",), "barge-in")]
    assert call.state.node == "main"


# -- barge-in -----------------------------------------------------------------------------------
def test_a_key_while_the_menu_prompt_plays_stops_that_prompt_and_counts():
    call = in_main()
    menu_prompt = call.latest(Play)
    produced = call.send(key("1"))
    assert produced[0] == StopPlayback(token=menu_prompt.token)
    assert call.path[-1] == ("main", "1", "consult")


def test_the_stopped_prompts_late_prompt_done_is_ignored():
    call = in_main()
    stopped = call.latest(Play)
    call.send(key("1"))
    before = call.state
    assert call.send(PromptDone(stopped.token)) == []
    assert call.state == before
    # The submenu's own prompt still works as usual.
    assert plain(call.send(DONE)) == [("timer", 5.0)]


def test_a_key_after_the_menu_prompt_finished_stops_nothing():
    call = in_main()
    call.send(DONE)
    produced = call.send(key("1"))
    assert not [a for a in produced if isinstance(a, StopPlayback)]
    assert call.path[-1] == ("main", "1", "consult")


# -- invalid keys and timeouts (R4) -------------------------------------------------------------
def test_an_invalid_key_says_so_and_replays_the_menu():
    call = in_main()
    produced = call.send(key("7"))
    assert plain(produced) == [
        ("stop",), ("step", "main", "invalid:7", "retry"),
        ("play", ("invalid_input", "main_menu"), "barge-in")]
    assert (call.state.node, call.state.retries) == ("main", 1)
    call.send(key("1"))  # the retry is a real menu again
    assert call.state.node == "consult"


def test_no_key_after_the_prompt_says_no_input_and_replays_the_menu():
    call = in_main()
    assert plain(call.send(DONE)) == [("timer", 5.0)]
    assert call.latest(StartTimer).token == call.state.token
    produced = call.send(TIMEOUT)
    assert plain(produced) == [
        ("step", "main", "timeout", "retry"), ("play", ("no_input", "main_menu"), "barge-in")]
    assert call.state.retries == 1


def failures(*kinds: str) -> list:
    """A script of menu failures: "timeout" (prompt over, no key), or an invalid key (barge-in)."""
    script: list = []
    for kind in kinds:
        script += [DONE, TIMEOUT] if kind == "timeout" else [key(kind)]
    return script


@pytest.mark.parametrize("kinds", [
    ("7", "7", "7"),
    ("timeout", "timeout", "timeout"),
    ("7", "timeout", "#"),
    ("timeout", "5", "timeout"),
    ("*", "*", "timeout"),
])
def test_three_invalid_keys_or_timeouts_take_the_caller_to_an_agent_never_a_hangup(kinds):
    call = in_main()
    call.send(*failures(*kinds))

    last_input = "timeout" if kinds[-1] == "timeout" else f"invalid:{kinds[-1]}"
    assert [p[2] for p in call.path[3:]] == ["retry", "retry", "fallback:agent"]
    assert call.path[-1] == ("main", last_input, "fallback:agent")
    assert call.plays[-1] == ("transferring",)
    call.send(DONE)
    assert plain([call.last]) == [("queue", "general", "consultation", (), "zh")]
    assert not call.of(Hangup)


def test_two_failures_still_leave_the_caller_in_the_menu():
    call = in_main()
    call.send(*failures("7", "timeout"))
    assert (call.state.node, call.state.retries) == ("main", 2)
    call.send(key("3"))
    assert call.path[-1] == ("main", "3", "complaint")


def test_three_failures_in_the_submenu_take_the_caller_to_the_agent_too():
    call = in_main()
    call.send(key("1"), *failures("9", "timeout", "3"))
    assert call.path[-1] == ("consult", "invalid:3", "fallback:agent")
    call.send(DONE)
    assert call.last.queue == "general"


@pytest.mark.parametrize("script, node", [
    ([*failures("7", "7"), key("1"), *failures("7", "7")], "consult"),
    ([key("1"), *failures("7", "7"), key("*"), *failures("7", "7")], "main"),
])
def test_retries_start_over_when_entering_a_new_menu(script, node):
    call = in_main()
    call.send(*script)
    assert (call.state.node, call.state.retries) == (node, 2)
    assert "fallback:agent" not in [p[2] for p in call.path]


@pytest.mark.parametrize("max_retries", [1, 2, 5])
def test_the_menus_own_max_retries_and_timeout_are_used(max_retries):
    doc = small_menu({
        "main": {"kind": "menu", "prompt": "menu", "options": {"1": "agent", "0": "agent"},
                 "timeout_seconds": 7.5, "max_retries": max_retries},
        "agent": AGENT,
    })
    call = Call(doc)
    for _ in range(max_retries - 1):
        call.send(DONE, TIMEOUT)
    assert call.state.node == "main"
    call.send(DONE, TIMEOUT)
    assert call.timers == [7.5] * max_retries
    assert call.path == [("main", "timeout", "retry")] * (max_retries - 1) + [
        ("main", "timeout", "fallback:agent")]
    assert call.plays[-1] == ("transferring",)


def test_the_menus_own_feedback_prompts_are_used():
    doc = small_menu({
        "main": {"kind": "menu", "prompt": ["hello", "menu"], "options": {"0": "agent"},
                 "invalid_prompt": "wrong_key", "timeout_prompt": ["nothing", "heard"]},
        "agent": AGENT,
    })
    call = Call(doc)
    call.send(key("4"), DONE, TIMEOUT)
    assert call.plays == [("hello", "menu"), ("wrong_key", "hello", "menu"),
                          ("nothing", "heard", "hello", "menu")]


# -- stale timers -------------------------------------------------------------------------------
def _menu_timer_then_invalid_key(call: Call) -> int:
    call.send(DONE)
    timer = call.latest(StartTimer).token
    call.send(key("7"))
    return timer


def _menu_timer_then_submenu(call: Call) -> int:
    call.send(DONE)
    timer = call.latest(StartTimer).token
    call.send(key("1"))
    return timer


def _first_timer_after_a_second_one(call: Call) -> int:
    call.send(DONE)
    timer = call.latest(StartTimer).token
    call.send(TIMEOUT, DONE)  # a retry, its own new timer
    return timer


def _lookup_timer_after_the_lookup_started(call: Call) -> int:
    call.send(key("2"), keys("1234"))
    timer = call.latest(StartTimer).token
    call.send(key("#"))
    return timer


@pytest.mark.parametrize("overtake", [
    _menu_timer_then_invalid_key, _menu_timer_then_submenu, _first_timer_after_a_second_one,
    _lookup_timer_after_the_lookup_started,
])
def test_a_timer_overtaken_by_the_caller_is_ignored(overtake):
    call = in_main()
    stale = overtake(call)
    before, count = call.state, len(call.actions)
    assert call.send(TimerFired(stale)) == []
    assert call.state == before and len(call.actions) == count


def test_a_timer_firing_while_the_prompt_still_plays_is_ignored():
    call = in_main()
    assert call.send(TIMEOUT) == []  # no timer runs yet; the state's token is the prompt's
    assert call.state.phase is Phase.prompt


# -- language (R5) ------------------------------------------------------------------------------
def test_nine_switches_to_english_and_replays_the_main_menu():
    call = in_main()
    call.send(DONE)
    produced = call.send(key("9"))
    assert plain(produced) == [
        ("step", "main", "9", "to_english"),
        ("language", "en"),
        ("step", "to_english", "", "main"),
        ("play", ("main_menu",), "barge-in"),
    ]
    assert SetLanguage("en") in produced
    assert call.state.language == "en"


@pytest.mark.parametrize("script, language", [
    ([key("9"), key("3"), DONE], "en"),
    ([key("9"), key("1"), key("2"), DONE], "en"),
    ([key("9"), key("8"), key("3"), DONE], "zh"),
    ([key("9"), *failures("7", "7", "7"), DONE], "en"),
])
def test_the_chosen_language_goes_with_the_call_to_the_queue(script, language):
    call = in_main()
    call.send(*script)
    assert isinstance(call.last, EnterQueue)
    assert call.last.language == language


def test_a_call_started_in_english_enters_the_queue_in_english():
    call = in_main(language="en")
    call.send(key("0"), DONE)
    assert call.last == EnterQueue(queue="general", call_type="consultation", skills=(),
                                   language="en")


def test_a_queue_with_its_own_language_overrides_the_calls():
    doc = small_menu({
        "main": {"kind": "menu", "prompt": "menu", "options": {"0": "agent", "5": "cantonese"}},
        "agent": AGENT,
        "cantonese": {"kind": "queue", "queue": "dialects", "call_type": "inquiry",
                      "skills": ["cantonese"], "language": "yue"},
    })
    call = Call(doc)
    produced = call.send(key("5"))  # no prompt on that queue: straight in
    assert plain(produced) == [
        ("stop",), ("step", "main", "5", "cantonese"), ("step", "cantonese", "", "queue:dialects"),
        ("queue", "dialects", "inquiry", ("cantonese",), "yue")]
    assert call.state.phase is Phase.done


# -- self-service lookup (R7) -------------------------------------------------------------------
@pytest.mark.parametrize("script, digits", [
    pytest.param([DONE, keys("1234#")], "1234", id="after-the-prompt-hash"),
    pytest.param([keys("20251#")], "20251", id="during-the-prompt-hash"),
    pytest.param([keys("12"), keys("34"), TIMEOUT], "1234", id="inter-digit-timeout"),
    pytest.param([DONE, keys("98765"), TIMEOUT], "98765", id="after-prompt-inter-digit-timeout"),
    pytest.param([keys("123456789012")], "123456789012", id="max-digits"),
    pytest.param([keys("12*34#")], "1234", id="star-is-not-a-digit"),
])
def test_the_complaint_number_entry_ends_in_a_lookup(script, digits):
    call = in_lookup()
    call.send(*script)
    assert call.last == Lookup(token=call.state.token, provider="complaint_status", digits=digits)
    assert call.state.phase is Phase.lookup
    assert len(call.of(Lookup)) == 1


def test_digits_typed_during_and_after_the_prompt_are_collected_with_their_timers():
    call = in_lookup()
    prompt = call.latest(Play)
    produced = call.send(key("1"))
    assert plain(produced) == [("stop",), ("timer", 3.0)]
    assert produced[0] == StopPlayback(prompt.token)
    assert call.send(PromptDone(prompt.token)) == []  # the stopped prompt's late end
    assert plain(call.send(keys("23"))) == [("timer", 3.0), ("timer", 3.0)]
    assert plain(call.send(keys("4#"))) == [("timer", 3.0), ("lookup", "complaint_status", "1234")]


def test_the_first_digit_gets_the_longer_timeout():
    call = in_lookup()
    assert plain(call.send(DONE)) == [("timer", 8.0)]
    assert plain(call.send(key("5"))) == [("timer", 3.0)]  # no prompt to stop any more


def test_a_key_after_max_digits_is_not_collected():
    call = in_lookup()
    call.send(keys("123456789012"))
    before = call.state
    assert call.send(key("3"), key("#")) == []
    assert call.state == before


@pytest.mark.parametrize("script, what, feedback", [
    pytest.param([keys("123#")], "invalid:123", "invalid_input", id="too-few-then-hash"),
    pytest.param([keys("12"), TIMEOUT], "invalid:12", "invalid_input", id="too-few-then-timeout"),
    pytest.param([key("#")], "invalid:#", "invalid_input", id="hash-alone"),
    pytest.param([DONE, TIMEOUT], "timeout", "no_input", id="no-digits-at-all"),
])
def test_a_short_or_missing_number_asks_again(script, what, feedback):
    call = in_lookup()
    produced = call.send(*script)
    assert plain(produced)[-2:] == [
        ("step", "lookup_complaint", what, "retry"),
        ("play", (feedback, "enter_complaint_number"), "barge-in")]
    assert not call.of(Lookup)
    assert (call.state.node, call.state.retries, call.state.digits) == ("lookup_complaint", 1, "")


def test_the_retry_starts_the_number_afresh():
    call = in_lookup()
    call.send(keys("12#"), keys("3456#"))
    assert call.last.digits == "3456"


@pytest.mark.parametrize("script, last_input", [
    ([keys("1#"), keys("12#"), keys("123#")], "invalid:123"),
    ([DONE, TIMEOUT, DONE, TIMEOUT, DONE, TIMEOUT], "timeout"),
    ([keys("1#"), DONE, TIMEOUT, keys("99"), TIMEOUT], "invalid:99"),
])
def test_after_max_retries_the_lookup_falls_back_to_an_agent(script, last_input):
    call = in_lookup()
    call.send(*script)
    assert [p[2] for p in call.path if p[0] == "lookup_complaint"] == [
        "retry", "retry", "fallback:agent"]
    assert call.path[-1] == ("lookup_complaint", last_input, "fallback:agent")
    assert call.plays[-1] == ("transferring",)
    call.send(DONE)
    assert plain([call.last]) == [("queue", "general", "consultation", (), "zh")]
    assert not call.of(Lookup) and not call.of(Hangup)


ANSWER = ("complaint_number_is", "digit_1", "digit_2", "digit_3", "digit_4", "status_received")


def test_a_lookup_answer_is_spoken_without_barge_in_then_the_after_lookup_menu():
    call = in_lookup()
    call.send(keys("1234#"))
    produced = call.send(("lookup", ANSWER))
    assert plain(produced) == [("step", "lookup_complaint", "1234", "answered"),
                               ("play", ANSWER, "no barge-in")]
    assert call.send(key("0")) == []  # the answer cannot be interrupted
    produced = call.send(DONE)
    assert plain(produced) == [("step", "lookup_complaint", "", "after_lookup"),
                               ("play", ("after_lookup_menu",), "barge-in")]
    assert call.state.node == "after_lookup"


@pytest.mark.parametrize("script, node", [
    ([key("1")], "lookup_complaint"),
    ([key("*")], "main"),
    ([key("0"), DONE], "agent"),
])
def test_the_after_lookup_menu_offers_another_lookup_main_or_agent(script, node):
    call = in_lookup()
    call.send(keys("1234#"), ("lookup", ("status_x",)), DONE, *script)
    assert call.state.node == node
    if node == "lookup_complaint":
        assert (call.state.digits, call.state.retries) == ("", 0)
        assert call.plays[-1] == ("enter_complaint_number",)


def test_a_failed_lookup_says_so_and_goes_to_an_agent_never_silence():
    call = in_lookup()
    call.send(keys("1234#"))
    produced = call.send(("lookup_failed",))
    assert plain(produced) == [("step", "lookup_complaint", "1234", "lookup_failed"),
                               ("play", ("lookup_failed",), "no barge-in")]
    assert plain(call.send(DONE)) == [("step", "lookup_complaint", "", "agent"),
                                      ("play", ("transferring",), "no barge-in")]
    assert call.state.node == "agent"
    assert plain(call.send(DONE)) == [("step", "agent", "", "queue:general"),
                                      ("queue", "general", "consultation", (), "zh")]


@pytest.mark.parametrize("late", [
    lambda call: LookupDone(call.state.token - 1, ("status_x",)),
    lambda call: LookupDone(call.state.token + 1, None),
])
def test_a_lookup_answer_with_another_token_is_ignored(late):
    call = in_lookup()
    call.send(keys("1234#"))
    before = call.state
    assert call.send(late(call)) == []
    assert call.state == before


def test_a_lookup_answer_when_no_lookup_runs_is_ignored():
    call = in_lookup()
    call.send(DONE)  # waiting for digits; the state's token is the first-digit timer
    before = call.state
    assert call.send(("lookup", ("status_x",)), ("lookup_failed",)) == []
    assert call.state == before


def test_keys_and_timers_while_the_provider_answers_change_nothing():
    call = in_lookup()
    call.send(keys("1234#"))
    before = call.state
    assert call.send(keys("56#"), TimerFired(call.state.token)) == []
    assert call.state == before


def test_a_webhook_lookup_passes_its_provider_and_falls_back_to_on_failure():
    hook = {"url": "https://example.test/status", "timeout_seconds": 1.5}
    doc = small_menu({
        "ask": {"kind": "lookup", "prompt": "enter_number", "provider": hook, "min_digits": 2,
                "max_digits": 4, "first_digit_timeout_seconds": 4, "inter_digit_timeout_seconds": 2,
                "max_retries": 1, "next": "agent", "on_failure": "sorry_queue"},
        "agent": AGENT,
        "sorry_queue": {"kind": "queue", "queue": "general", "call_type": "inquiry"},
    }, start="ask")
    call = Call(doc)
    call.send(DONE, key("7"))
    assert call.timers == [4.0, 2.0]
    call.send(key("7"), key("7"), key("#"))
    assert call.latest(Lookup).provider == WebhookProvider(**hook)
    assert call.latest(Lookup).digits == "777"

    one_try = Call(doc)
    one_try.send(DONE, TIMEOUT)
    assert one_try.path == [("ask", "timeout", "fallback:sorry_queue"),
                            ("sorry_queue", "", "queue:general")]
    assert plain([one_try.last]) == [("queue", "general", "inquiry", (), "zh")]


# -- business hours (R5) and messages (R8) ------------------------------------------------------
WEEKLY = {"mon": ["08:00-20:00"], "tue": ["08:00-20:00"], "wed": ["08:00-12:00", "13:00-20:00"],
          "thu": ["08:00-20:00"], "fri": ["08:00-20:00"], "sat": ["09:00-12:00"]}
HOLIDAY = date(2025, 10, 1)  # a Wednesday
SCHEDULED = demo_with(weekly=WEEKLY, holidays=[HOLIDAY.isoformat()])


def sh(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


@pytest.mark.parametrize("now, state", [
    pytest.param(sh(2025, 3, 12, 10), "open", id="wed-10:00"),
    pytest.param(sh(2025, 3, 12, 8, 0), "open", id="wed-08:00-opening"),
    pytest.param(sh(2025, 3, 12, 7, 59), "closed", id="wed-07:59"),
    pytest.param(sh(2025, 3, 12, 12, 30), "closed", id="wed-lunch-break"),
    pytest.param(sh(2025, 3, 12, 19, 59), "open", id="wed-19:59"),
    pytest.param(sh(2025, 3, 12, 20, 0), "closed", id="wed-20:00-closing"),
    pytest.param(sh(2025, 3, 12, 21), "closed", id="wed-21:00"),
    pytest.param(sh(2025, 3, 15, 10), "open", id="sat-10:00"),
    pytest.param(sh(2025, 3, 15, 14), "closed", id="sat-14:00"),
    pytest.param(sh(2025, 3, 16, 10), "closed", id="sunday-not-listed"),
    pytest.param(sh(2025, 10, 1, 10), "closed", id="holiday"),
    pytest.param(sh(2025, 10, 2, 10), "open", id="day-after-holiday"),
    # The same instants given in UTC: the schedule is Shanghai time.
    pytest.param(datetime(2025, 3, 12, 2, 0, tzinfo=timezone.utc), "open", id="utc-02:00"),
    pytest.param(datetime(2025, 3, 12, 13, 0, tzinfo=timezone.utc), "closed", id="utc-13:00"),
])
def test_a_weekly_schedule_sends_the_caller_to_the_menu_or_to_closed(now, state):
    call = Call(SCHEDULED, now=now)
    call.send(DONE)
    expected = "returning" if state == "open" else "closed"
    assert call.path[1] == ("hours", state, expected)
    assert call.plays[-1] == (("main_menu",) if state == "open" else ("closed_message",))


@pytest.mark.parametrize("now", [sh(2025, 3, 16, 3), sh(2025, 1, 1, 23, 59),
                                 sh(2025, 3, 12, 12, 30)])
def test_without_a_schedule_the_line_is_open_around_the_clock(now):
    call = Call(now=now)
    call.send(DONE)
    assert call.path[1] == ("hours", "open", "returning")


def test_holidays_are_closed_all_day_even_without_a_schedule():
    doc = demo_with(holidays=["2025-10-01"])
    for now, state in [(sh(2025, 10, 1, 0, 0), "closed"), (sh(2025, 10, 1, 12), "closed"),
                       (sh(2025, 10, 1, 23, 59), "closed"), (sh(2025, 9, 30, 23, 59), "open")]:
        call = Call(doc, now=now)
        call.send(DONE)
        assert call.path[1][1] == state, now


CLOSED = sh(2025, 3, 16, 10)  # a Sunday: closed under WEEKLY


def test_a_caller_at_a_closed_time_leaves_a_message_and_is_thanked_before_the_hangup():
    call = Call(SCHEDULED, now=CLOSED)
    assert plain(call.send(DONE)) == [
        ("step", "welcome", "", "hours"), ("step", "hours", "closed", "closed"),
        ("play", ("closed_message",), "no barge-in")]
    assert plain(call.send(DONE)) == [
        ("step", "closed", "", "voicemail"), ("play", ("leave_message",), "no barge-in")]
    assert plain(call.send(DONE)) == [("record", 120)]
    assert call.last == Record(token=call.state.token, max_seconds=120)
    assert call.state.phase is Phase.recording

    assert plain(call.send(("recorded", True))) == [
        ("step", "voicemail", "recording", "message_saved"),
        ("play", ("message_saved",), "no barge-in")]
    assert plain(call.send(DONE)) == [("step", "voicemail", "", "goodbye"),
                                      ("play", ("thanks",), "no barge-in")]
    assert not call.of(Hangup)  # not before the thanks
    assert plain(call.send(DONE)) == [("step", "goodbye", "", "hangup"), ("hangup",)]
    assert call.state.phase is Phase.done
    assert not call.of(EnterQueue)


def test_a_message_not_saved_goes_on_to_goodbye_without_saying_it_was_saved():
    call = Call(SCHEDULED, now=CLOSED)
    call.send(DONE, DONE, DONE)
    assert plain(call.send(("recorded", False))) == [
        ("step", "voicemail", "recording", "no_message"), ("play", ("thanks",), "no barge-in")]
    call.send(DONE)
    assert call.last == Hangup()
    assert ("message_saved",) not in call.plays


def test_the_voicemail_nodes_max_seconds_is_used():
    doc = small_menu({
        "vm": {"kind": "voicemail", "prompt": "leave_message", "max_seconds": 30, "next": "bye"},
        "bye": {"kind": "hangup"},
    }, start="vm")
    call = Call(doc)
    call.send(DONE, ("recorded", True), DONE, DONE)
    assert plain(call.actions) == [
        ("play", ("leave_message",), "no barge-in"), ("record", 30),
        ("step", "vm", "recording", "message_saved"), ("play", ("message_saved",), "no barge-in"),
        ("step", "vm", "", "bye"), ("play", ("thanks",), "no barge-in"),
        ("step", "bye", "", "hangup"), ("hangup",)]


def test_keys_during_the_message_prompt_or_recording_are_ignored():
    call = Call(SCHEDULED, now=CLOSED)
    call.send(DONE, DONE)  # the leave_message prompt plays
    before = call.state
    assert call.send(keys("123#*0")) == []
    assert call.state == before
    call.send(DONE)  # recording
    before = call.state
    assert call.send(keys("123#*0")) == []
    assert call.state == before
    call.send(("recorded", True))
    assert call.send(keys("0")) == []  # nor while "message saved" plays


def test_a_recording_result_with_another_token_is_ignored():
    call = Call(SCHEDULED, now=CLOSED)
    call.send(DONE, DONE, DONE)
    before = call.state
    assert call.send(RecordingDone(call.state.token - 1, True)) == []
    assert call.state == before


def test_a_recording_result_before_the_recording_started_is_ignored():
    call = Call(SCHEDULED, now=CLOSED)
    call.send(DONE, DONE)  # the leave_message prompt plays; its token is the state's
    before = call.state
    assert call.send(("recorded", True)) == []
    assert call.state == before


# -- play and hangup nodes; the end ---------------------------------------------------------------
@pytest.mark.parametrize("digit", ["1", "0", "*", "#"])
def test_keys_during_a_play_node_are_ignored(digit):
    call = Call()
    before = call.state
    assert call.send(key(digit)) == []
    assert call.state == before
    call.send(DONE)
    assert call.state.node == "main"


def test_the_hangup_node_hangs_up_only_after_its_thanks_prompt():
    doc = small_menu({
        "main": {"kind": "menu", "prompt": "menu", "options": {"0": "agent", "9": "bye"}},
        "agent": AGENT,
        "bye": {"kind": "hangup"},
    })
    call = Call(doc)
    assert plain(call.send(key("9"))) == [
        ("stop",), ("step", "main", "9", "bye"), ("play", ("thanks",), "no barge-in")]
    assert call.state.phase is not Phase.done
    assert call.send(key("0"), TimerFired(call.state.token - 1)) == []
    assert plain(call.send(DONE)) == [("step", "bye", "", "hangup"), ("hangup",)]
    assert call.state.phase is Phase.done


def _queued(call: Call) -> None:
    call.send(DONE, key("0"), DONE)
    assert isinstance(call.last, EnterQueue)


def _hung_up(call: Call) -> None:
    call.send(DONE, DONE, DONE, ("recorded", False), DONE)
    assert call.last == Hangup()


@pytest.mark.parametrize("finish, doc, now", [
    pytest.param(_queued, DEMO, WED_10, id="queued"),
    pytest.param(_hung_up, SCHEDULED, CLOSED, id="hung-up"),
])
@pytest.mark.parametrize("late", [
    key("1"), key("0"), DONE, TIMEOUT, ("lookup", ("status_x",)), ("lookup_failed",),
    ("recorded", True),
])
def test_inputs_after_the_ivr_is_done_change_nothing(finish, doc, now, late):
    call = Call(doc, now=now)
    finish(call)
    before, count = call.state, len(call.actions)
    assert call.state.phase is Phase.done
    assert call.send(late) == []
    assert call.state == before and len(call.actions) == count


def test_nodes_that_need_no_input_going_round_in_a_circle_are_refused():
    doc = small_menu({
        "zh_first": {"kind": "language", "language": "zh", "next": "en_next"},
        "en_next": {"kind": "language", "language": "en", "next": "zh_first"},
    }, start="zh_first")
    with pytest.raises(IvrLoop):
        start(doc, Facts(), WED_10)


# -- a whole call, as one path ------------------------------------------------------------------
def test_a_whole_call_is_stored_as_its_path():
    call = in_main()
    call.send(key("7"), key("1"), key("*"), DONE, TIMEOUT, key("2"), keys("12"), TIMEOUT,
              keys("5678#"), ("lookup", ("status_x",)), DONE, key("0"), DONE)
    assert call.path == GREETING_TO_MAIN + [
        ("main", "invalid:7", "retry"),
        ("main", "1", "consult"),
        ("consult", "*", "main"),
        ("main", "timeout", "retry"),
        ("main", "2", "lookup_complaint"),
        ("lookup_complaint", "invalid:12", "retry"),
        ("lookup_complaint", "5678", "answered"),
        ("lookup_complaint", "", "after_lookup"),
        ("after_lookup", "0", "agent"),
        ("agent", "", "queue:general"),
    ]
    assert call.plays == [
        ("greeting",), ("main_menu",), ("invalid_input", "main_menu"), ("consult_menu",),
        ("main_menu",), ("no_input", "main_menu"), ("enter_complaint_number",),
        ("invalid_input", "enter_complaint_number"), ("status_x",), ("after_lookup_menu",),
        ("transferring",)]
    assert call.timers == [5.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    assert len(call.of(StopPlayback)) == 7
    assert call.last == EnterQueue(queue="general", call_type="consultation", skills=(),
                                   language="zh")


def test_digits_keyed_for_a_webhook_lookup_are_kept_masked_in_the_path():
    doc = small_menu({
        "ask": {"kind": "lookup", "prompt": "enter_complaint_number",
                "provider": {"url": "https://crm.example/lookup"}, "max_digits": 18, "next": "bye",
                "on_failure": "bye"},
        "bye": {"kind": "hangup"},
    }, start="ask")
    call = Call(doc)
    call.send(keys("110101199001011234#"))
    assert call.of(Lookup)[-1].digits == "110101199001011234"  # the provider gets them all
    call.send(("lookup", ("thanks",)))
    assert call.path[-1] == ("ask", "**************1234", "answered")
