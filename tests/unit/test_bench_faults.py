"""The fault benchmark's own arithmetic (bench/faults, R21): SIPp's log lines, one fault's row
(answered, dropped, stuck, missing, incomplete, the recovery), stuck agents, and the CLI. No
timings here."""

from __future__ import annotations

import pytest

from bench.acd.phones import caller_scenario
from bench.faults import figures
from bench.faults.__main__ import FAULTS, parse_args

T = "2026-12-07\t20:07:29.210641\t"


def callers_log(*lines: tuple[str, str, float]) -> str:
    return "".join(f"{what}|{number}|{n}-1@127.0.0.1|{T}{at}\n"
                   for n, (what, number, at) in enumerate(lines))


def test_the_callers_log_gives_each_numbers_start_answer_and_end():
    text = callers_log(("start", "139001", 100.0), ("answered", "139001", 100.2),
                       ("start", "139002", 100.25), ("done", "139001", 110.5)) + "garbage\n"
    calls = figures.parse_callers(text)
    assert calls["139001"] == figures.CallerCall("139001", 100.0, 100.2, 110.5)
    assert calls["139002"] == figures.CallerCall("139002", 100.25)


def test_the_agents_log_gives_the_first_answer_per_callers_number():
    text = (f'agent|{T}200.5|From: "139001" <sip:139001@127.0.0.1:5060>;tag=a\n'
            f"agent|{T}201.0|From: <sip:+139002@127.0.0.1>;tag=b\n"
            f'agent|{T}209.0|From: "139001" <sip:139001@127.0.0.1:5060>;tag=c\n'
            "agent|bad line\n")
    assert figures.parse_agents(text) == {"139001": 200.5, "139002": 201.0}


def test_a_row_counts_answered_dropped_and_the_callers_of_the_fault():
    episode = figures.Episode("pg", start=100, fault_start=110, fault_end=140)
    callers = {
        "1": figures.CallerCall("1", 101, 101.1, 111),   # before: served, ended well
        "2": figures.CallerCall("2", 115, 115.1, 125),   # during: served
        "3": figures.CallerCall("3", 120, 120.1, None),  # during: not served, dropped
        "4": figures.CallerCall("4", 139.9),              # during: never answered by Asterisk
        "5": figures.CallerCall("5", 141, 141.1, 151),   # after: the first served
        "6": figures.CallerCall("6", 142, 142.1, 152),
    }
    agents = {"1": 103.0, "2": 118.0, "5": 144.0, "6": 143.5}
    records = {"1": (True, True), "2": (True, True), "3": (False, False), "5": (True, False),
               "6": (True, True)}
    row = figures.row(episode, callers, agents, records,
                      {"1": "completed", "2": "completed", "3": None, "5": None,
                       "6": "completed"})
    assert (row.attempted, row.answered, row.dropped) == (6, 4, 2)
    assert (row.during_attempted, row.during_answered) == (3, 1)
    assert (row.stuck_calls, row.incomplete) == (1, 2)  # 3 open; 5 without a reason
    assert row.missing == 0  # 4 was never answered by Asterisk: no record is due
    assert row.reasons == {"completed": 3, "none": 2}
    assert row.recovery_seconds == 3.5  # 6, placed after 5, was answered first: 143.5 - 140
    assert row.path_seconds == 2.0      # the one call before the fault: 103 - 101
    assert not row.clean


def test_a_call_answered_by_asterisk_without_a_record_is_missing():
    episode = figures.Episode("kill", 0, 10, 20)
    callers = {"1": figures.CallerCall("1", 12, 12.1, None), "2": figures.CallerCall("2", 13)}
    row = figures.row(episode, callers, {}, {})
    assert (row.missing, row.stuck_calls, row.incomplete) == (1, 0, 0)
    assert row.recovery_seconds is None and row.path_seconds is None


def test_an_agent_is_stuck_only_without_any_live_channel_of_their_call():
    agents = [{"name": "a", "state": "on_call", "call_id": "c1"},
              {"name": "b", "state": "ringing", "call_id": "c2"},
              {"name": "c", "state": "on_call", "call_id": "c3"},
              {"name": "d", "state": "ready", "call_id": None},
              {"name": "e", "state": "on_call", "call_id": None}]
    calls = {"c1": {"ch1", "agent-o1"}, "c2": {"ch2", "agent-o2"}, "c3": {"ch3"}}
    stuck = figures.stuck_agents(agents, {"agent-o1", "ch3"}, calls)
    assert [a["name"] for a in stuck] == ["b", "e"]


def test_the_traced_caller_scenario_logs_start_answer_and_end(tmp_path):
    plain = caller_scenario(from_user="[field0]", key_pcap=tmp_path / "k.pcap", key_after_ms=800,
                            hangup_after_ms=6000)
    traced = caller_scenario(from_user="[field0]", key_pcap=tmp_path / "k.pcap",
                             key_after_ms=800, hangup_after_ms=6000, trace=True)
    assert "<log" not in plain
    for what in ("start", "answered", "done"):
        assert f'<log message="{what}|[field0]|[call_id]|[timestamp]"/>' in traced


def test_the_cli_takes_faults_in_order_and_checks_the_terms():
    args = parse_args([])
    assert args.faults == list(FAULTS) and args.rate == 4.0
    assert parse_args(["--faults", "postgres-hung,ari-cut"]).faults == ["postgres-hung", "ari-cut"]
    for bad in (["--faults", "ari-cut,ari-cut"], ["--faults", "meteor"], ["--rate", "0"],
                ["--key-after-ms", "1600", "--hangup-after-ms", "2000"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
