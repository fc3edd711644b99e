"""The pages share use cases with the API through app.services, never by importing its routers."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[3] / "app"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_web_imports_nothing_from_the_api_routers() -> None:
    offenders = {
        str(path.relative_to(APP)): sorted(m for m in _imports(path) if m.startswith("app.api.routers"))
        for path in (APP / "web").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_services_import_no_edge() -> None:
    edges = ("app.api", "app.web", "fastapi", "starlette", "app.cli")
    offenders = {
        str(path.relative_to(APP)): sorted(m for m in _imports(path) if m.startswith(edges))
        for path in (APP / "services").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
