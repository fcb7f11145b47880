"""The benchmark's own arithmetic (bench/acd): quantiles from histogram buckets, SIPp's
statistics file, the CLI's validation and the native side's configuration. No timings here."""

from __future__ import annotations

import argparse

import pytest

from bench.acd import figures, native
from bench.acd.__main__ import _rates, _sides, parse_args
from bench.acd.phones import read_stats


def test_quantile_interpolates_inside_the_bucket_it_falls_in():
    buckets = [(0.005, 50.0), (0.01, 90.0), (0.02, 100.0), (float("inf"), 100.0)]
    assert figures.quantile(buckets, 0.5) == pytest.approx(0.005)
    assert figures.quantile(buckets, 0.7) == pytest.approx(0.0075)
    assert figures.quantile(buckets, 0.99) == pytest.approx(0.019)
    assert figures.quantile([(0.01, 0.0), (float("inf"), 0.0)], 0.5) is None


def test_histogram_delta_sums_label_sets_between_two_scrapes():
    name = "h_bucket"
    before = {name: {(("event", "A"), ("le", "0.01")): 1.0, (("event", "A"), ("le", "+Inf")): 1.0}}
    after = {name: {(("event", "A"), ("le", "0.01")): 3.0, (("event", "A"), ("le", "+Inf")): 4.0,
                    (("event", "B"), ("le", "0.01")): 1.0, (("event", "B"), ("le", "+Inf")): 1.0}}
    assert figures.histogram_delta(before, after, "h") == [(0.01, 3.0), (float("inf"), 4.0)]
    assert figures.histogram_delta(before, after, "h", event="B") == [(0.01, 1.0),
                                                                      (float("inf"), 1.0)]


def test_sipp_statistics_give_the_last_counts_and_the_highest_concurrency(tmp_path):
    path = tmp_path / "callers_1_.csv"
    path.write_text("TotalCallCreated;CurrentCall;SuccessfulCall(C);FailedCall(C);\n"
                    "5;5;0;0;\n12;9;3;0;\n20;0;19;1;\n")
    stats = read_stats(path)
    assert (stats.created, stats.successful, stats.failed, stats.peak_concurrent) == (20, 19, 1, 9)
    assert read_stats(tmp_path / "missing.csv") is None


@pytest.mark.parametrize("text", ["", "4,2", "2,2", "0,1", "a,b", "300"])
def test_rates_must_be_ascending_distinct_and_sane(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _rates(text)


def test_sides_and_arguments_are_validated():
    assert _sides("native,ours") == ["native", "ours"]
    with pytest.raises(argparse.ArgumentTypeError):
        _sides("ours,ours")
    with pytest.raises(SystemExit):
        parse_args(["--key-after-ms", "5000", "--hangup-after-ms", "5000"])
    with pytest.raises(SystemExit):
        parse_args(["--agents", "0"])
    assert parse_args(["--rates", "1,2"]).rates == [1.0, 2.0]


def test_native_side_uses_the_same_prompt_ring_limit_and_wrap_up():
    terms = native.QueueTerms(ring_limit_seconds=15, wrap_up_seconds=1, max_wait_seconds=300,
                              menu_timeout_seconds=5)
    plan = native.dialplan("/srv/hotline/x/prompts/ivr/abc", terms)
    assert "Read(KEY,/srv/hotline/x/prompts/ivr/abc,1,,1,5)" in plan
    assert "Queue(bench,,,,300)" in plan
    queues = native.queues(3, terms)
    assert "timeout = 15" in queues and "wrapuptime = 1" in queues
    assert "ringinuse = no" in queues and queues.count("member => PJSIP/bench-a") == 3
    assert native.pjsip(["sip:a1@127.0.0.1:5070"]).count("contact = sip:a1@127.0.0.1:5070") == 1
