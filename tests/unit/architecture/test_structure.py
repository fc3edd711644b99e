"""The structure rules that import-linter cannot see: the docs page matches the contracts, every
package is a regular one (a namespace package is invisible to the contracts and not shipped in the
wheel), and the benches import only the product."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("app", "chaincode", "ipfs", "network")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layer_modules(contract: dict[str, object]) -> list[str]:
    layers = contract["layers"]
    assert isinstance(layers, list)
    return [m.strip().strip("()") for layer in layers for m in layer.replace("|", ":").split(":")]


def test_every_contract_is_on_the_architecture_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    ids = [str(c["id"]) for c in _contracts()]
    assert "layers" in ids and "network-tooling" in ids and "chaincode-self-contained" in ids
    missing = [i for i in ids if f"| `{i}` |" not in page]
    assert not missing, f"contracts not described in docs/architecture.md: {missing}"


def test_every_layered_module_is_placed_on_the_architecture_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    layers = next(c for c in _contracts() if c["id"] == "layers")
    missing = []
    for module in _layer_modules(layers):
        path = module.replace(".", "/")
        stem = path.rsplit("/", 1)
        # a module is named by its path (app/ledger/port.py, app/web) or in a braced group of its folder
        if path not in page and not (len(stem) == 2 and f"{stem[0]}/{{" in page and stem[1] in page):
            missing.append(module)
    assert not missing, f"layered modules docs/architecture.md does not place: {missing}"


def test_every_product_package_is_a_regular_package() -> None:
    namespace = [
        str(d.relative_to(ROOT))
        for top in PACKAGES
        for d in [ROOT / top, *(ROOT / top).rglob("*")]
        if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.py"))
        and not (d / "__init__.py").exists()
    ]  # fmt: skip
    assert not namespace, f"folders of Python modules without __init__.py: {namespace}"


def test_the_benches_import_only_the_product() -> None:
    offenders = []
    for bench in sorted((ROOT / "scripts" / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(bench.read_text(), str(bench))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            offenders += [f"{bench.name}:{node.lineno} {n}" for n in names if n.split(".")[0] == "tests"]
    assert not offenders, f"benches importing the test suite: {offenders}"
