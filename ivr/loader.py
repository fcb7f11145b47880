"""Loading a menu file: YAML, then the pydantic model, then the R4 lint.

Every problem found on the way is a `Problem` with the line it is on; they are raised together as
a `MenuError`, whose text lists them one per line as `FILE:LINE: node NAME: message`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ivr.lint import Finding, lint
from ivr.menu import DIGIT, NAME, MenuDocument

# A place in the YAML as the keys (and list indexes, as text) that lead to it.
KeyPath = tuple[str, ...]
Lines = dict[KeyPath, int]

_PATTERNS = {
    DIGIT: "a single key: 0-9, * or #",
    NAME: "a name of lowercase letters, digits and _, starting with a letter",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a menu file; `line` (1-based) and `node` are None when unknown."""

    source: str
    line: int | None
    node: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        node = "" if self.node is None else f" node {self.node}:"
        return f"{where}:{node} {self.message}"


class MenuError(Exception):
    """A menu file that cannot be used; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def load_menu_file(path: str | Path) -> MenuDocument:
    """Load and check the menu file at `path`; problems name it as their source."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        problem = Problem(str(path), None, None, "file", f"cannot read it: {reason}")
        raise MenuError([problem]) from exc
    return load_menu(text, source=str(path))


def load_menu(text: str, *, source: str = "<menu>") -> MenuDocument:
    """Parse, validate and lint a menu; `source` names the file in problems."""
    root, data = _parse(text, source)
    if root is None:
        raise MenuError([Problem(source, None, None, "schema", "the menu is empty")])
    lines, problems = _key_lines(root, source)
    if not isinstance(data, dict):
        raise MenuError([*problems, Problem(
            source, root.start_mark.line + 1, None, "schema",
            "the menu must be a mapping with name, languages, start, nodes and prompts")])
    try:
        doc = MenuDocument.model_validate(data)
    except ValidationError as exc:
        raise MenuError([*problems, *_schema_problems(exc, data, lines, source)]) from None
    problems += [_lint_problem(finding, lines, source) for finding in lint(doc)]
    if problems:
        raise MenuError(problems)
    return doc


# -- YAML ---------------------------------------------------------------------------------------
def _parse(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The composed YAML (for line numbers) and the data built from it."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            return root, None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        message = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise MenuError([Problem(source, line, None, "yaml", message)]) from None
    except yaml.YAMLError as exc:
        raise MenuError([Problem(source, None, None, "yaml", str(exc))]) from None


def _key_lines(root: yaml.Node, source: str) -> tuple[Lines, list[Problem]]:
    """The line of every mapping key and list item, by its path; and a problem for every key
    given twice in one mapping (YAML would silently keep only the last)."""
    lines: Lines = {}
    duplicates: list[Problem] = []

    def walk(node: yaml.Node, path: KeyPath, inside: frozenset[int]) -> None:
        if id(node) in inside:  # an alias of a node that contains it
            return
        inside = inside | {id(node)}
        if isinstance(node, yaml.MappingNode):
            first_lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                here, line = (*path, key.value), key.start_mark.line + 1
                if key.value in first_lines:
                    duplicates.append(Problem(
                        source, line, _node_of(here), "duplicate-key",
                        f"'{key.value}' is given twice (first on line "
                        f"{first_lines[key.value]}); only the last one would count"))
                first_lines.setdefault(key.value, line)
                lines[here] = line
                walk(value, here, inside)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                here = (*path, str(index))
                lines[here] = item.start_mark.line + 1
                walk(item, here, inside)

    walk(root, (), frozenset())
    return lines, duplicates


def _line(lines: Lines, path: KeyPath) -> int | None:
    """The line of `path`, or of the nearest enclosing key that is in the file."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _node_of(path: KeyPath) -> str | None:
    return path[1] if len(path) >= 2 and path[0] == "nodes" else None


# -- schema errors ------------------------------------------------------------------------------
def _schema_problems(exc: ValidationError, data: dict[str, Any], lines: Lines,
                     source: str) -> list[Problem]:
    """One problem per place in the file. Pydantic reports a value that fits no member of a union
    once per member: errors at a place that has a deeper error are such alternatives and give way
    to the deeper one; alternatives at the same place are joined into one message."""
    by_path: dict[KeyPath, list[ErrorDetails]] = {}
    for error in exc.errors():
        by_path.setdefault(_data_path(error, data), []).append(error)
    deepest = [path for path in by_path
               if not any(len(other) > len(path) and other[:len(path)] == path
                          for other in by_path)]
    return [Problem(source, _line(lines, path), _node_of(path), "schema",
                    _schema_message(path, by_path[path]))
            for path in deepest]


def _data_path(error: ErrorDetails, data: dict[str, Any]) -> KeyPath:
    """The error's `loc` as keys of the file, without the tags pydantic adds for unions (a node's
    kind, the member names of `str | PromptText`, ...). Only a missing field, the last part of the
    loc of a `missing` error, is kept though it is not in the file."""
    loc = list(error["loc"])
    nodes = data.get("nodes")
    if len(loc) >= 3 and loc[0] == "nodes" and isinstance(nodes, dict):
        raw = nodes.get(loc[1])
        if isinstance(raw, dict) and loc[2] == raw.get("kind"):
            del loc[2]
    if error["type"] == "union_tag_invalid":
        loc.append(error.get("ctx", {}).get("discriminator", "").strip("'"))
    path: list[str] = []
    here: Any = data
    for index, part in enumerate(loc):
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            here = here[part]
        elif not (error["type"] == "missing" and index == len(loc) - 1):
            continue
        path.append(str(part))
    return tuple(path)


def _schema_message(path: KeyPath, errors: list[ErrorDetails]) -> str:
    """A readable message for the pydantic errors at `path`; fields are named from the node."""
    fields = path[2:] if _node_of(path) else path
    inside = f"{'.'.join(fields[:-1])}: " if len(fields) > 1 else ""
    first = errors[0]
    kind, ctx = first["type"], first.get("ctx", {})
    if kind == "missing":
        return f"{inside}'{fields[-1]}' is required"
    if kind == "extra_forbidden":
        return f"{inside}unknown field '{fields[-1]}'"
    if kind == "union_tag_invalid":
        return f"unknown kind '{ctx['tag']}' (expected one of {ctx['expected_tags']})"
    if kind == "union_tag_not_found":
        return f"{ctx['discriminator']} is required"
    if first["loc"][-1] == "[key]":
        return f"{inside}key {first['input']!r} {_describe(first)}"
    details = [_describe(error) for error in errors]
    joined = " or ".join([details[0], *(d.removeprefix("Input should be ") for d in details[1:])])
    return f"{'.'.join(fields)}: {joined}" if fields else joined


def _describe(error: ErrorDetails) -> str:
    """What is wrong with the value, in pydantic's words unless plainer ones are at hand."""
    pattern = error.get("ctx", {}).get("pattern")
    if error["type"] == "string_pattern_mismatch" and pattern in _PATTERNS:
        return f"should be {_PATTERNS[pattern]}"
    if error["type"] == "string_type" and error["loc"][-1] == "[key]" \
            and isinstance(error["input"], int):
        return f'must be quoted, like "{error["input"]}"'
    return error["msg"].removeprefix("Value error, ")


# -- lint findings ------------------------------------------------------------------------------
def _lint_problem(finding: Finding, lines: Lines, source: str) -> Problem:
    return Problem(source, _line(lines, finding.where), finding.node, finding.rule,
                   finding.message)
