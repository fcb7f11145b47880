"""Loading voice menus: YAML and schema errors with their lines, and the R4 lint rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ivr.lint import lint
from ivr.loader import MenuError, Problem, load_menu, load_menu_file

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ivr" / "demo.yaml"
SOURCE = "menu.yaml"

# A small valid menu: greeting, a main menu with the agent on 0, two languages.
BASE = """\
name: Test hotline
languages: [zh, en]
default_language: zh
start: welcome
nodes:
  welcome:
    kind: play
    prompt: greeting
    next: main
  main:
    kind: menu
    prompt: main_menu
    options: {"1": info, "0": agent}
  info:
    kind: play
    prompt: info
    next: main
  agent:
    kind: queue
    queue: general
    call_type: consultation
prompts:
  greeting: {zh: 您好, en: Hello}
  main_menu: {zh: 请选择, en: Please choose}
  info: {zh: 信息, en: Information}
  invalid_input: {zh: 输入有误, en: Not an option}
  no_input: {zh: 没有输入, en: No input}
"""
MAIN_OPTIONS = 'options: {"1": info, "0": agent}'


def changed(old: str, new: str, text: str = BASE) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def with_nodes(nodes: str, text: str = BASE) -> str:
    """`text` with more nodes (YAML indented as under `nodes:`) after the others."""
    return changed("prompts:\n", nodes + "prompts:\n", text)


def line_of(text: str, snippet: str) -> int:
    """The 1-based line where `snippet` (which must occur once) starts."""
    assert text.count(snippet) == 1, snippet
    return text.count("\n", 0, text.index(snippet)) + 1


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(MenuError) as raised:
        load_menu(text, source=SOURCE)
    return raised.value.problems


def problem(text: str, snippet: str, node: str | None, rule: str, message: str) -> Problem:
    """The problem expected at the line of `snippet` in `text`."""
    return Problem(SOURCE, line_of(text, snippet), node, rule, message)


# -- valid menus --------------------------------------------------------------------------------
def test_shipped_demo_menu_loads_without_problems() -> None:
    doc = load_menu_file(DEMO)
    assert doc.start in doc.nodes
    assert lint(doc) == []


def test_base_menu_of_these_tests_is_valid() -> None:
    doc = load_menu(BASE)
    assert list(doc.nodes) == ["welcome", "main", "info", "agent"]
    assert doc.languages == ["zh", "en"]


# -- YAML and schema ----------------------------------------------------------------------------
def test_yaml_syntax_error_names_its_line() -> None:
    text = changed("    prompt: info\n", "    prompt: info: more\n")
    assert problems_of(text) == [
        problem(text, "prompt: info: more", None, "yaml", "mapping values are not allowed here")]


def test_top_level_that_is_not_a_mapping_is_refused() -> None:
    assert problems_of("- welcome\n- main\n") == [Problem(
        SOURCE, 1, None, "schema",
        "the menu must be a mapping with name, languages, start, nodes and prompts")]


def test_empty_file_is_refused() -> None:
    assert problems_of("# nothing yet\n") == [Problem(SOURCE, None, None, "schema",
                                                      "the menu is empty")]


def test_unknown_node_kind_is_a_schema_error_naming_node_and_line() -> None:
    text = changed("    kind: play\n    prompt: info", "    kind: sing\n    prompt: info")
    [found] = problems_of(text)
    assert (found.rule, found.node, found.line) == ("schema", "info", line_of(text, "kind: sing"))
    assert found.message.startswith("unknown kind 'sing' (expected one of 'menu', 'play',")


def test_menu_option_that_is_not_a_key_is_a_schema_error_naming_node_and_line() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"x": info, "0": agent}')
    assert problems_of(text) == [problem(
        text, "options:", "main", "schema", "options: key 'x' should be a single key: 0-9, * or #")]


def test_unquoted_option_key_is_refused_asking_for_quotes() -> None:
    text = changed(MAIN_OPTIONS, 'options: {1: info, "0": agent}')
    assert problems_of(text) == [problem(text, "options:", "main", "schema",
                                         'options: key 1 must be quoted, like "1"')]


def test_missing_field_is_named_at_its_node() -> None:
    text = changed("    prompt: info\n    next: main\n", "    prompt: info\n")
    assert problems_of(text) == [problem(text, "  info:\n", "info", "schema",
                                         "'next' is required")]


def test_node_given_twice_is_refused_instead_of_silently_replaced() -> None:
    text = with_nodes("  info:\n    kind: queue\n    queue: info\n    call_type: inquiry\n")
    assert problems_of(text) == [Problem(
        SOURCE, line_of(text, "  info:\n    kind: queue"), "info", "duplicate-key",
        "'info' is given twice (first on line 14); only the last one would count")]


# -- lint rules ---------------------------------------------------------------------------------
def test_start_node_that_does_not_exist_is_refused() -> None:
    text = changed("start: welcome", "start: hello")
    assert problems_of(text) == [problem(text, "start: hello", None, "start-missing",
                                         "the start node 'hello' is not a node")]


def test_option_leading_to_no_node_is_refused_naming_the_option() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": info, "3": nowhere, "0": agent}')
    assert problems_of(text) == [problem(text, "options:", "main", "dangling-target",
                                         "option 3 leads to 'nowhere', which is not a node")]


def test_next_leading_to_no_node_is_refused_at_its_line() -> None:
    text = changed("    prompt: greeting\n    next: main", "    prompt: greeting\n    next: mian")
    found = problems_of(text)[0]
    assert found == problem(text, "next: mian", "welcome", "dangling-target",
                            "next leads to 'mian', which is not a node")


def test_menu_without_the_agent_key_is_refused_naming_the_key() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": info, "2": agent}')
    assert problems_of(text) == [problem(
        text, "options:", "main", "agent-option",
        "no option 0 for an agent: every menu needs the agent key 0")]


def test_agent_key_is_taken_from_the_lint_settings() -> None:
    text = changed("start: welcome\n", 'start: welcome\nlint: {agent_key: "9"}\n')
    assert problems_of(text) == [problem(
        text, "options:", "main", "agent-option",
        "no option 9 for an agent: every menu needs the agent key 9")]


def test_agent_key_that_does_not_reach_a_queue_is_refused() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": agent, "0": info}')
    assert problems_of(text) == [problem(
        text, "options:", "main", "agent-option",
        "option 0 (the agent key) leads to 'info', which does not reach a queue")]


def test_agent_key_may_reach_the_queue_through_nodes_that_need_no_input() -> None:
    text = with_nodes(
        "  hold:\n    kind: play\n    prompt: info\n    next: office\n"
        "  office:\n    kind: hours\n    open: agent\n    closed: english_agent\n"
        "  english_agent:\n    kind: language\n    language: en\n    next: agent\n",
        changed(MAIN_OPTIONS, 'options: {"1": info, "0": hold}'))
    assert lint(load_menu(text)) == []


def test_agent_key_through_hours_is_refused_if_one_branch_misses_the_queue() -> None:
    text = with_nodes(
        "  office:\n    kind: hours\n    open: agent\n    closed: info\n",
        changed(MAIN_OPTIONS, 'options: {"1": info, "0": office}'))
    assert problems_of(text) == [problem(
        text, "options:", "main", "agent-option",
        "option 0 (the agent key) leads to 'office', which does not reach a queue")]


def _menu(name: str, option: str) -> str:
    return (f"  {name}:\n    kind: menu\n    prompt: main_menu\n"
            f'    options: {{"1": {option}, "*": main, "0": agent}}\n')


def test_menus_deeper_than_max_depth_are_refused_naming_the_path() -> None:
    text = with_nodes(_menu("sub", "subsub") + _menu("subsub", "leaf") + _menu("leaf", "info"),
                      changed(MAIN_OPTIONS, 'options: {"1": info, "2": sub, "0": agent}'))
    assert problems_of(text) == [problem(text, "  leaf:", "leaf", "depth",
                                         "menu depth 4 > 3: main > sub > subsub > leaf")]


def test_max_depth_menus_are_fine_and_going_back_does_not_count() -> None:
    text = with_nodes(_menu("sub", "subsub") + _menu("subsub", "info"),
                      changed(MAIN_OPTIONS, 'options: {"1": info, "2": sub, "0": agent}'))
    assert lint(load_menu(text)) == []


def test_max_depth_is_taken_from_the_lint_settings() -> None:
    text = with_nodes(_menu("sub", "info"),
                      changed(MAIN_OPTIONS, 'options: {"1": info, "2": sub, "0": agent}'))
    text = changed("start: welcome\n", "start: welcome\nlint: {max_depth: 1}\n", text)
    assert problems_of(text) == [problem(text, "  sub:", "sub", "depth",
                                         "menu depth 2 > 1: main > sub")]


def test_loop_that_never_waits_for_the_caller_is_refused_naming_it() -> None:
    text = with_nodes(
        "  spin:\n    kind: play\n    prompt: info\n    next: spin_more\n"
        "  spin_more:\n    kind: language\n    language: en\n    next: spin\n",
        changed(MAIN_OPTIONS, 'options: {"1": info, "2": spin, "0": agent}'))
    assert problems_of(text) == [problem(
        text, "  spin:", "spin", "cycle",
        "these nodes loop forever without waiting for the caller: spin > spin_more > spin")]


def test_loop_through_a_menu_is_fine() -> None:
    # welcome's menu `main` leads to `info`, which plays and goes back to `main`.
    assert lint(load_menu(BASE)) == []


def test_node_that_cannot_be_reached_from_the_start_is_refused() -> None:
    text = with_nodes("  stray:\n    kind: play\n    prompt: info\n    next: main\n")
    assert problems_of(text) == [problem(
        text, "  stray:", "stray", "unreachable",
        "unreachable: no path from the start node 'welcome' leads here")]


def test_prompt_that_is_not_defined_is_refused_at_its_line() -> None:
    text = changed("    prompt: info\n", "    prompt: [info,\n      more_info]\n")
    assert problems_of(text) == [problem(text, "more_info", "info", "prompt-missing",
                                         "prompt 'more_info' is not defined")]


def test_default_prompt_of_a_node_must_be_defined_too() -> None:
    text = with_nodes("  bye:\n    kind: hangup\n",
                      changed(MAIN_OPTIONS, 'options: {"1": info, "9": bye, "0": agent}'))
    assert problems_of(text) == [problem(
        text, "  bye:", "bye", "prompt-missing",
        "prompt 'thanks' is not defined (the default prompt of a hangup node)")]


def test_prompt_a_node_kind_plays_by_itself_must_be_defined_too() -> None:
    text = with_nodes("  message:\n    kind: voicemail\n    prompt: info\n    next: main\n",
                      changed(MAIN_OPTIONS, 'options: {"1": info, "9": message, "0": agent}'))
    assert problems_of(text) == [problem(
        text, "  message:", "message", "prompt-missing",
        "prompt 'message_saved' is not defined (a voicemail node plays it)")]


def test_prompt_without_every_language_is_refused_naming_the_language() -> None:
    text = changed("  info: {zh: 信息, en: Information}", "  info: {zh: 信息}")
    assert problems_of(text) == [problem(text, "  info: {zh", "info", "prompt-missing",
                                         "prompt 'info' has no 'en' version")]


def test_main_menu_that_is_a_promotion_is_refused() -> None:
    text = changed(MAIN_OPTIONS, MAIN_OPTIONS + "\n    promo: true")
    assert problems_of(text) == [problem(text, "promo: true", "main", "promo-in-main-menu",
                                         "the main menu must not be a promotion (promo: true)")]


def test_main_menu_option_leading_to_a_promotion_is_refused() -> None:
    text = with_nodes(
        "  offer_intro:\n    kind: play\n    prompt: info\n    next: offer\n"
        "  offer:\n    kind: play\n    promo: true\n    prompt: info\n    next: main\n",
        changed(MAIN_OPTIONS, 'options: {"1": info, "2": offer_intro, "0": agent}'))
    assert problems_of(text) == [problem(
        text, "options:", "main", "promo-in-main-menu",
        "option 2 leads to the promotion 'offer' (promo: true), which is not allowed in the "
        "main menu")]


def test_promotion_in_a_sub_menu_is_allowed() -> None:
    text = with_nodes(
        _menu("more", "offer")
        + "  offer:\n    kind: play\n    promo: true\n    prompt: info\n    next: main\n",
        changed(MAIN_OPTIONS, 'options: {"1": info, "2": more, "0": agent}'))
    assert lint(load_menu(text)) == []


def test_first_menu_on_every_hours_branch_is_a_main_menu() -> None:
    text = with_nodes(
        "  office:\n    kind: hours\n    open: main\n    closed: night\n"
        "  night:\n    kind: menu\n    promo: true\n    prompt: main_menu\n"
        '    options: {"1": info, "0": agent}\n',
        changed("    next: main\n  main:", "    next: office\n  main:"))
    assert problems_of(text) == [problem(
        text, "    promo: true", "night", "promo-in-main-menu",
        "the main menu must not be a promotion (promo: true)")]


# -- reporting ----------------------------------------------------------------------------------
def test_problems_are_ordered_by_node_in_the_file_then_rule() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": info, "2": agent, "3": nowhere}')
    text = changed("    prompt: greeting\n", "    prompt: hello\n", text)
    assert [(p.node, p.rule) for p in problems_of(text)] == [
        ("welcome", "prompt-missing"), ("main", "dangling-target"), ("main", "agent-option")]


def test_menu_error_lists_problems_as_file_line_node_message() -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": info, "3": nowhere, "0": agent}')
    with pytest.raises(MenuError) as raised:
        load_menu(text, source="hotline.yaml")
    line = line_of(text, "options:")
    assert str(raised.value) == (
        f"hotline.yaml:{line}: node main: option 3 leads to 'nowhere', which is not a node")


def test_problem_text_leaves_out_what_is_unknown() -> None:
    assert str(Problem("<menu>", None, None, "schema", "the menu is empty")) == (
        "<menu>: the menu is empty")
    assert str(Problem("m.yaml", 3, None, "yaml", "bad")) == "m.yaml:3: bad"


def test_file_that_cannot_be_read_is_a_menu_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(MenuError) as raised:
        load_menu_file(missing)
    [found] = raised.value.problems
    assert (found.source, found.rule) == (str(missing), "file")


# -- command line -------------------------------------------------------------------------------
def run_check(*files: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ivr", "check", *map(str, files)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_check_command_accepts_the_demo_menu() -> None:
    doc = load_menu_file(DEMO)
    result = run_check("ivr/demo.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (f"ivr/demo.yaml: ok ({len(doc.nodes)} nodes, {len(doc.prompts)} "
                             f"prompts, languages zh, en)\n")


def test_check_command_fails_on_a_bad_file_and_prints_the_problem(tmp_path: Path) -> None:
    text = changed(MAIN_OPTIONS, 'options: {"1": info, "3": nowhere, "0": agent}')
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = run_check("ivr/demo.yaml", bad)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        result.stdout.splitlines()[0],
        f"{bad}:{line_of(text, 'options:')}: node main: option 3 leads to 'nowhere', which is "
        f"not a node"]
    assert result.stdout.startswith("ivr/demo.yaml: ok (")
