"""R21: the fallback's decisions, pure: whom the dialplan rings, and what a record the
dialplan wrote becomes (app/fallback.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from app.calls.state import EndReason
from app.fallback import (FallbackCall, Outcome, call_values, dial_string, end_reason, is_record,
                          parse_record)
from app.reports.definitions import CallFacts, summarise
from routing.agent_state import AgentState
from stack import asterisk


@dataclass
class Agent:
    endpoint: str
    state: AgentState


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_the_dial_string_rings_every_logged_in_agent_who_is_not_paused_once_and_in_order():
    agents = [Agent("PJSIP/wang", AgentState.ready), Agent("PJSIP/trunk/sip:li@10.0.0.5:5062",
                                                            AgentState.on_call),
              Agent("PJSIP/zhao", AgentState.paused), Agent("PJSIP/sun", AgentState.logged_out),
              Agent("PJSIP/zhou", AgentState.wrap_up), Agent("PJSIP/wu", AgentState.ringing),
              Agent("PJSIP/wang", AgentState.ready)]
    assert dial_string(agents) == (
        "PJSIP/trunk/sip:li@10.0.0.5:5062&PJSIP/wang&PJSIP/wu&PJSIP/zhou")


def test_nobody_to_ring_is_an_empty_dial_string_and_dial_separators_are_never_let_in():
    assert dial_string([Agent("PJSIP/zhao", AgentState.paused)]) == ""
    assert dial_string([Agent("PJSIP/trunk/sip:a@h,30", AgentState.ready),
                        Agent("PJSIP/x&Local/y", AgentState.ready)]) == ""


AGENT_LINE = ("v1,1796673507,1796673521,13855550001,95000,agent,trunk/sip:fb@127.0.0.1:48075,,"
              "1796673509,1796673517,1796673518")


def test_a_record_of_a_call_an_agent_answered_is_parsed():
    call = parse_record("fallback-1796673507-0", AGENT_LINE)
    assert call == FallbackCall(
        uniqueid="1796673507.0", started_at=at(1796673507), ended_at=at(1796673521),
        caller_number="13855550001", dialed_number="95000", outcome=Outcome.agent,
        peer="trunk/sip:fb@127.0.0.1:48075", message=None, answered_at=at(1796673509),
        rang_at=at(1796673517), agent_answered_at=at(1796673518))
    assert call.channel_id == "fallback-1796673507.0"
    assert call.agent_endpoint == "PJSIP/trunk/sip:fb@127.0.0.1:48075"


def test_a_uniqueid_with_a_system_name_keeps_its_dashes():
    call = parse_record("fallback-pbx-a-1796673507-12", AGENT_LINE)
    assert call is not None and call.uniqueid == "pbx-a-1796673507.12"


def test_a_record_not_whole_or_not_ours_is_not_a_call():
    assert parse_record("fallback-1796673507-0", AGENT_LINE[:40]) is None
    assert parse_record("fallback-1796673507-0", "") is None
    assert parse_record("fallback-1796673507-0", AGENT_LINE.replace(",agent,", ",maybe,")) is None
    assert parse_record("voicemail-x", AGENT_LINE) is None
    assert is_record("fallback-1796673507-0", "sln")
    assert not is_record("fallback-1796673507-0-message", "wav")
    assert not is_record("fallback-1796673507-0-message", "sln")
    assert not is_record("voicemail-1-overflow", "wav")


def test_a_message_left_is_a_fallback_message_and_an_empty_one_is_abandoned():
    line = "v1,100,160,138,95000,message,,fallback-100-1-message,102,,"
    call = parse_record("fallback-100-1", line)
    assert call is not None and call.message == "fallback-100-1-message"
    assert call.agent_endpoint is None
    assert end_reason(call, message_left=True) is EndReason.fallback_message
    assert end_reason(call, message_left=False) is EndReason.fallback_abandoned


def test_a_caller_who_hung_up_while_the_fallback_waited_for_a_service_is_abandoned_unanswered():
    call = parse_record("fallback-100-2", "v1,100,103,,s,abandoned,,,,,")
    assert call is not None and call.caller_number is None
    reason = end_reason(call, message_left=False)
    values = call_values(call, reason=reason, agent_id=None, language="zh")
    assert (reason, values["answered_at"], values["enqueued_at"], values["connected_at"]) == (
        EndReason.fallback_abandoned, None, None, None)


def test_the_call_row_of_an_answered_fallback_call_counts_as_offered_and_answered():
    call = parse_record("fallback-1796673507-0", AGENT_LINE)
    assert call is not None
    agent = uuid.uuid4()
    values = call_values(call, reason=EndReason.fallback_agent, agent_id=agent, language="zh")
    assert values["channel_id"] == "fallback-1796673507.0"
    assert (values["direction"], values["state"], values["end_reason"], values["agent_id"]) == (
        "inbound", "ended", "fallback_agent", agent)
    assert (values["started_at"], values["answered_at"], values["enqueued_at"],
            values["connected_at"], values["ended_at"]) == (
        at(1796673507), at(1796673509), at(1796673517), at(1796673518), at(1796673521))
    facts = CallFacts(started_at=values["started_at"], enqueued_at=values["enqueued_at"],
                      connected_at=values["connected_at"], ended_at=values["ended_at"],
                      end_reason=values["end_reason"])
    s = summarise([facts], [], threshold_seconds=15, short_abandon_seconds=5, ring_limit_seconds=15)
    assert (s.offered, s.answered, s.abandoned, s.answered_in_threshold) == (1, 1, 0, 1)


def test_reports_count_a_hang_up_while_agents_rang_as_abandoned_and_a_message_as_not():
    rang = parse_record("fallback-100-3", "v1,100,130,138,95000,abandoned,,,102,110,")
    message = parse_record("fallback-100-4", "v1,100,160,138,95000,message,,fallback-100-4-message,"
                                             "102,110,")
    assert rang is not None and message is not None
    facts = []
    for call, left in ((rang, False), (message, True)):
        v = call_values(call, reason=end_reason(call, message_left=left), agent_id=None,
                        language="zh")
        facts.append(CallFacts(started_at=v["started_at"], enqueued_at=v["enqueued_at"],
                               connected_at=v["connected_at"], ended_at=v["ended_at"],
                               end_reason=v["end_reason"]))
    s = summarise(facts, [], threshold_seconds=15, short_abandon_seconds=5, ring_limit_seconds=15)
    assert (s.offered, s.answered, s.abandoned, s.short_abandoned) == (2, 0, 1, 0)


def test_the_dialplan_renders_the_fallback_terms_and_still_enters_stasis_first(tmp_path):
    inst = asterisk.Instance(name="t", ari_password="x", root=tmp_path, module_dir="/modules",
                             fallback_tries=4, fallback_ring_seconds=18, fallback_language="en")
    asterisk.write_config(inst)
    text = (inst.host_dir / "etc" / "extensions.conf").read_text()
    for pattern in ("_[0-9+*#]", "_[0-9+*#].", "s"):
        assert f"exten => {pattern},1(take),Stasis(hotline,inbound)\n" in text
    assert ">= 4]?serve)" in text and "Dial(${HOTLINE_FB_AGENTS},18," in text
    assert "/srv/hotline/t/prompts/en/fallback_apology" in text
    assert "/srv/hotline/t/spool/recording/fallback-" in text
