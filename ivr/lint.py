"""The R4 lint of a voice menu: simple menus, the agent always reachable, no dead ends.

Each rule is a small function yielding `Finding`s; `lint` runs them all and sorts what they found
by node (in file order), then rule. The lint is pure: a finding says where in the YAML it is as a
path of keys, and the loader turns that into a line number.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from ivr.menu import (
    HoursNode,
    IfOpenComplaintNode,
    LanguageNode,
    LookupNode,
    MenuDocument,
    MenuNode,
    PlayNode,
    QueueNode,
    prompts_of,
    targets,
)

# Nodes that go on by themselves, without caller input, to every one of their targets.
PASS_THROUGH = (PlayNode, LanguageNode, HoursNode, IfOpenComplaintNode)
# Nodes that wait for the caller's keys; a loop through one of them is the caller's choice.
WAITS_FOR_KEYS = (MenuNode, LookupNode)


@dataclass(frozen=True)
class Finding:
    """One lint problem.

    `node` is the node it is about (None: the document as a whole), `rule` a short stable id,
    and `where` the path of YAML keys it points at, e.g. ("nodes", "main", "options", "3").
    """

    node: str | None
    rule: str
    message: str
    where: tuple[str, ...]


Check = Callable[[MenuDocument], Iterable[Finding]]


def lint(doc: MenuDocument) -> list[Finding]:
    """Every R4 problem of `doc`, by node in file order (document-wide ones first), then rule."""
    findings = [finding for _, check in CHECKS for finding in check(doc)]
    node_order = {name: index for index, name in enumerate(doc.nodes)}
    rule_order = {rule: index for index, (rule, _) in enumerate(CHECKS)}
    return sorted(findings, key=lambda f: (node_order.get(f.node, -1) if f.node else -1,
                                           rule_order[f.rule]))


# -- the rules ----------------------------------------------------------------------------------
def check_start(doc: MenuDocument) -> Iterator[Finding]:
    """R4 (no dead ends): the start node exists."""
    if doc.start not in doc.nodes:
        yield Finding(None, "start-missing", f"the start node '{doc.start}' is not a node",
                      ("start",))


def check_targets(doc: MenuDocument) -> Iterator[Finding]:
    """R4 (no dead ends): every option and every next step names an existing node."""
    for name, node in doc.nodes.items():
        for label, target in targets(node).items():
            if target not in doc.nodes:
                yield Finding(name, "dangling-target",
                              f"{label} leads to '{target}', which is not a node",
                              _at(name, *_label_path(label)))


def check_agent_option(doc: MenuDocument) -> Iterator[Finding]:
    """R4: the option for a human agent is easy to find: every menu has the agent key
    (`lint.agent_key`), and it leads to a queue, directly or through nodes that go on by themselves
    (play, language; hours and if_open_complaint only if all their branches do)."""
    key = doc.lint.agent_key
    for name, node in doc.nodes.items():
        if not isinstance(node, MenuNode):
            continue
        target = node.options.get(key)
        if target is None:
            yield Finding(name, "agent-option",
                          f"no option {key} for an agent: every menu needs the agent key {key}",
                          _at(name, "options"))
        elif target in doc.nodes and not _reaches_queue(doc, target, frozenset()):
            yield Finding(name, "agent-option",
                          f"option {key} (the agent key) leads to '{target}', which does not "
                          f"reach a queue", _at(name, "options", key))


def check_depth(doc: MenuDocument) -> Iterator[Finding]:
    """R4: few levels: at most `lint.max_depth` menus on any path from the start. Going back to a
    menu already on the path (a "back" or "main menu" option) does not count."""
    if doc.start not in doc.nodes:
        return
    limit = doc.lint.max_depth
    too_deep: dict[str, list[str]] = {}

    def walk(name: str, on_path: frozenset[str], menus: list[str]) -> None:
        if isinstance(doc.nodes[name], MenuNode):
            menus = [*menus, name]
            if len(menus) > limit:
                too_deep.setdefault(name, menus)
                return
        for target in _successors(doc, name):
            if target not in on_path:
                walk(target, on_path | {target}, menus)

    walk(doc.start, frozenset({doc.start}), [])
    for name, menus in too_deep.items():
        yield Finding(name, "depth", f"menu depth {len(menus)} > {limit}: {' > '.join(menus)}",
                      _at(name))


def check_cycles(doc: MenuDocument) -> Iterator[Finding]:
    """R4 (no dead ends): no loop without a menu or lookup in it: such a loop never waits for the
    caller and would go round forever. Each loop is named once, at its first node in the file."""
    looping = {name for name, node in doc.nodes.items() if not isinstance(node, WAITS_FOR_KEYS)}

    def step(name: str) -> list[str]:
        return [target for target in _successors(doc, name) if target in looping]

    reach = {name: _closure(step, name) for name in looping}
    reported: set[str] = set()
    for name in doc.nodes:
        if name not in looping or name in reported or name not in reach[name]:
            continue
        reported |= {other for other in reach[name] if name in reach[other]}
        loop = _shortest_loop(step, name)
        yield Finding(name, "cycle",
                      f"these nodes loop forever without waiting for the caller: "
                      f"{' > '.join(loop)}", _at(name))


def check_reachable(doc: MenuDocument) -> Iterator[Finding]:
    """R4 (clear menus): every node can be reached from the start; a stray node is a mistake."""
    if doc.start not in doc.nodes:
        return
    reached = {doc.start} | _closure(lambda name: _successors(doc, name), doc.start)
    for name in doc.nodes:
        if name not in reached:
            yield Finding(name, "unreachable",
                          f"unreachable: no path from the start node '{doc.start}' leads here",
                          _at(name))


def check_prompts(doc: MenuDocument) -> Iterator[Finding]:
    """R4 (clear descriptions) with R5 (several languages): every prompt a node may play is
    defined, in every language of the menu. Each prompt is reported once, at its first node."""
    checked: set[str] = set()
    for name, node in doc.nodes.items():
        for prompt in prompts_of(node):
            if prompt in checked:
                continue
            checked.add(prompt)
            texts = doc.prompts.get(prompt)
            if texts is None:
                keys, note = _prompt_source(node, prompt)
                yield Finding(name, "prompt-missing", f"prompt '{prompt}' is not defined{note}",
                              _at(name, *keys))
                continue
            for language in doc.languages:
                if language not in texts:
                    yield Finding(name, "prompt-missing",
                                  f"prompt '{prompt}' has no '{language}' version",
                                  ("prompts", prompt))


def check_promo(doc: MenuDocument) -> Iterator[Finding]:
    """R4: no advertising in the main menu: a main menu (see `main_menus`) is not a promotion, and
    none of its options leads, directly or through nodes that are not menus, to a promo node."""
    mains = main_menus(doc)
    for name in mains:
        menu = doc.nodes[name]
        assert isinstance(menu, MenuNode)
        if menu.promo:
            yield Finding(name, "promo-in-main-menu",
                          "the main menu must not be a promotion (promo: true)",
                          _at(name, "promo"))
        for key, target in menu.options.items():
            promo = _promo_behind(doc, target, set(mains))
            if promo is not None:
                yield Finding(name, "promo-in-main-menu",
                              f"option {key} leads to the promotion '{promo}' (promo: true), "
                              f"which is not allowed in the main menu",
                              _at(name, "options", key))


CHECKS: tuple[tuple[str, Check], ...] = (
    ("start-missing", check_start),
    ("dangling-target", check_targets),
    ("agent-option", check_agent_option),
    ("depth", check_depth),
    ("cycle", check_cycles),
    ("unreachable", check_reachable),
    ("prompt-missing", check_prompts),
    ("promo-in-main-menu", check_promo),
)


# -- graph helpers ------------------------------------------------------------------------------
def main_menus(doc: MenuDocument) -> list[str]:
    """The menus a caller meets first: those reached from the start through nodes that are not
    menus. Where hours or if_open_complaint branch, the first menu on every branch counts."""
    if doc.start not in doc.nodes:
        return []
    found: set[str] = set()
    seen = {doc.start}
    todo = [doc.start]
    while todo:
        name = todo.pop()
        if isinstance(doc.nodes[name], MenuNode):
            found.add(name)
            continue
        for target in _successors(doc, name):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return [name for name in doc.nodes if name in found]


def _successors(doc: MenuDocument, name: str) -> list[str]:
    """The existing nodes `name` can go to, in the order of its fields and options."""
    return list(dict.fromkeys(t for t in targets(doc.nodes[name]).values() if t in doc.nodes))


def _closure(step: Callable[[str], list[str]], start: str) -> set[str]:
    """The nodes reachable from `start` in one or more steps."""
    reached: set[str] = set()
    todo = step(start)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(step(name))
    return reached


def _shortest_loop(step: Callable[[str], list[str]], start: str) -> list[str]:
    """A shortest way from `start` back to itself, as node names (start first and last);
    `start` must be on a loop."""
    came_from: dict[str, str] = {}
    todo = deque([start])
    while todo:
        name = todo.popleft()
        for target in step(name):
            if target == start:
                back = [name]
                while back[-1] != start:
                    back.append(came_from[back[-1]])
                return [*reversed(back), start]
            if target not in came_from:
                came_from[target] = name
                todo.append(target)
    raise ValueError(f"{start!r} is not on a loop")


def _reaches_queue(doc: MenuDocument, name: str, seen: frozenset[str]) -> bool:
    """Whether every way on from `name`, without waiting for the caller, ends in a queue."""
    node = doc.nodes.get(name)
    if node is None or name in seen:
        return False
    if isinstance(node, QueueNode):
        return True
    if isinstance(node, PASS_THROUGH):
        return all(_reaches_queue(doc, target, seen | {name}) for target in targets(node).values())
    return False


def _promo_behind(doc: MenuDocument, start: str, stop: set[str]) -> str | None:
    """The first promo node met from `start` on, going on only through nodes that are not menus
    (nodes in `stop`, the main menus, are not looked at)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name in stop or name not in doc.nodes:
            continue
        seen.add(name)
        node = doc.nodes[name]
        if node.promo:
            return name
        if not isinstance(node, MenuNode):
            todo.extend(reversed(_successors(doc, name)))
    return None


# -- where in the YAML --------------------------------------------------------------------------
def _at(node: str, *keys: str) -> tuple[str, ...]:
    return ("nodes", node, *keys)


def _label_path(label: str) -> tuple[str, ...]:
    """The YAML keys behind a `targets` label: "option 3" is options: {"3": ...}; the others
    ("next", "else", ...) are the node's fields of that name."""
    if label.startswith("option "):
        return ("options", label.removeprefix("option "))
    return (label,)


def _prompt_source(node: BaseModel, prompt: str) -> tuple[tuple[str, ...], str]:
    """Where a node gets `prompt` from: the keys (field, list index) naming it in the file, and a
    note for a reader when the file does not name it (a default, or what the node's kind plays)."""
    kind = getattr(node, "kind", "")
    for field in ("prompt", "invalid_prompt", "timeout_prompt"):
        names = getattr(node, field, None) or []
        if prompt in names:
            if field in node.model_fields_set:
                return (field, str(names.index(prompt))), ""
            return (), f" (the default {field} of a {kind} node)"
    return (), f" (a {kind} node plays it)"
