"""Alerting sits on top of the tenant side, never under it.

The rule: nothing in `core/` outside `core/alerting/` imports `core.alerting`, except the adapter
packages (`core/persistence`, `core/adapters`), which may implement its ports (`core/persistence` is the
alert store). Alerting reads the tenant side freely (tenants, the decision table, the wedge finder,
the leases); the tenant actions build, run and are tested without alerting. Checked on the source, like
tests/unit/test_architecture.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ALERTING = "core/alerting"
ADAPTERS = ("core/persistence", "core/adapters")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, by its full name (`from core import alerting` counts as core.alerting)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def tenant_side() -> list[Path]:
    inside = (ALERTING, *ADAPTERS)
    return [p for p in sorted((ROOT / "core").rglob("*.py")) if not str(p.relative_to(ROOT)).startswith(inside)]


@pytest.mark.parametrize("path", tenant_side(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_tenant_side_of_core_never_imports_alerting(path: Path) -> None:
    assert not {m for m in imported(path) if m == "core.alerting" or m.startswith("core.alerting.")}
