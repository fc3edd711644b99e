"""The client's modules import each other in one direction only (no cycle, type-only imports included).

Why: the commit listeners used to hang off the transport, which closed a loop through
client -> commit_listener -> commit -> client; a layered package is one the next engineer can read
bottom-up (messages, transport, listeners, I/O classes, network, gateway).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "app" / "fabric_gateway"


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports (relative or absolute, at any depth of the file)."""
    modules = {path.stem for path in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1 or base.startswith("app.fabric_gateway"):
                    base = base.removeprefix("app.fabric_gateway").lstrip(".")
                    names = [base.split(".")[0]] if base else [alias.name for alias in node.names]
                    imported.update(name for name in names if name in modules)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("app.fabric_gateway."):
                        imported.add(alias.name.split(".")[2])
        graph[path.stem] = imported - {path.stem}
    return graph


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    assert {"client", "gateway", "network", "commit_listener"} <= graph.keys()
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the loop


def test_a_cycle_is_detected(tmp_path: Path) -> None:
    (tmp_path / "client.py").write_text(
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .commit_listener import X\n"
    )
    (tmp_path / "commit_listener.py").write_text("from .client import Y\n")
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(import_graph(tmp_path)).prepare()


def test_the_transport_imports_only_messages_and_options() -> None:
    """The transport knows nothing of listeners, sessions or the object model above it."""
    assert import_graph(PACKAGE)["client"] <= {"errors", "options"}
