"""Imports point down (#14): the voice menu and the ACD know no domain above them (desk,
complaints, calls), and the settings and the calendar know no domain at all; what they need of
those domains is passed in at composition (`app.main`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = ("app.desk", "app.complaints", "app.calls")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def reaches(names: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("path", modules("ivr", "routing"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_menu_and_the_acd_import_no_domain_above_them(path):
    assert reaches(imported(path), ABOVE) == []


@pytest.mark.parametrize("name", ["app/config.py", "app/calendar.py"])
def test_settings_and_the_calendar_know_no_domain(name):
    domains = tuple(f"app.{p.name}" for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists())
    assert reaches(imported(ROOT / name), domains) == []


# The composition root builds `app.state`; `app.deps` is the one module that hands it out.
HANDS_OUT_STATE = {"app/main.py", "app/deps.py"}


@pytest.mark.parametrize("path", [p for p in modules("app", "ivr", "routing")
                                  if str(p.relative_to(ROOT)) not in HANDS_OUT_STATE],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_routes_reach_the_services_through_app_deps_not_app_state(path):
    reads = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Attribute) and node.attr == "state"
             and isinstance(node.value, ast.Attribute) and node.value.attr == "app"]
    assert reads == [], f"reads app.state at lines {reads}; add a dependency to app/deps.py"
