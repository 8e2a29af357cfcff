"""Layering rules that keep the core portable, checked on the source so they cannot rot silently."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_PACKAGES = ("core/adapters", "core/saga")  # the only places that may speak Temporal


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_names(path: Path) -> set[str]:
    """Every module `path` imports, by full name, wherever the import statement is (function-local too)."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def core_files() -> list[Path]:
    return sorted((ROOT / "core").rglob("*.py"))


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_slack_or_the_scheduler(path: Path) -> None:
    assert not imported_modules(path) & {"slack_bolt", "slack_sdk", "apscheduler", "bot", "tenantbot"}


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_knows_no_metrics_library_its_outcomes_are_observed_at_the_edges(path: Path) -> None:
    assert "prometheus_client" not in imported_modules(path)


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_speaks_temporal_only_in_its_engine_adapters(path: Path) -> None:
    inside = str(path.relative_to(ROOT)).startswith(ENGINE_PACKAGES)
    assert inside or "temporalio" not in imported_modules(path)


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_bot_reaches_the_engine_and_database_only_through_the_core(path: Path) -> None:
    assert not imported_modules(path) & {"temporalio", "sqlalchemy", "tenantbot"}


@pytest.mark.parametrize(
    "path",
    [p for p in sorted((ROOT / "tenantbot").rglob("*.py")) if p.name not in ("cli.py", "__main__.py")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_entry_point_imports_the_cli_so_the_commands_form_no_cycle(path: Path) -> None:
    assert "tenantbot.cli" not in imported_names(path)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tenantbot" / "commands").glob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_a_command_module_imports_no_other_command_module(path: Path) -> None:
    others = {f"tenantbot.commands.{p.stem}" for p in path.parent.glob("*.py") if p != path}
    assert not imported_names(path) & others
