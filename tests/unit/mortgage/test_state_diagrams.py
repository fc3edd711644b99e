"""docs/mortgage-chaincode.md draws the lien and vehicle state machines; they must be the code's tables."""

from __future__ import annotations

import re
from pathlib import Path

from chaincode.mortgage import law_rules, rules
from chaincode.mortgage.models import LienStatus, VehicleStatus

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "mortgage-chaincode.md"
EDGE = re.compile(r"^\s*(\[\*\]|[A-Z_]+)\s*-->\s*(\[\*\]|[A-Z_]+)\s*(?::.*)?$")


def diagrams() -> list[set[tuple[str, str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### State diagrams") :].split("\n### ")[0]
    blocks = re.findall(r"```mermaid\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, "expected the lien and the vehicle diagram"
    out = []
    for block in blocks:
        edges = set()
        for line in block.splitlines():
            match = EDGE.match(line)
            if match:
                edges.add((match.group(1), match.group(2)))
        out.append(edges)
    return out


def table_edges(table: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(src.value, dst.value) for src, targets in table.items() for dst in targets}


def test_lien_diagram_is_the_transition_table() -> None:
    lien, _ = diagrams()
    inner = {(a, b) for a, b in lien if "[*]" not in (a, b)}
    assert inner == table_edges(rules.LIEN_TRANSITIONS)
    assert {a for a, b in lien if b == "[*]"} == {s.value for s in rules.TERMINAL}
    assert {b for a, b in lien if a == "[*]"} == {LienStatus.REQUESTED.value}
    # terminal means no way out, in the table too
    assert all(not rules.LIEN_TRANSITIONS[s] for s in rules.TERMINAL)


def test_vehicle_diagram_is_the_transition_table() -> None:
    _, vehicle = diagrams()
    inner = {(a, b) for a, b in vehicle if "[*]" not in (a, b)}
    assert inner == table_edges(law_rules.VEHICLE_TRANSITIONS)
    assert {a for a, b in vehicle if b == "[*]"} == {VehicleStatus.SCRAPPED.value}
    assert set(law_rules.VEHICLE_TRANSITIONS) == set(VehicleStatus)


def test_events_documented_are_the_ones_emitted() -> None:
    """The two event lists of the page (lien law, the rest) name exactly what the modules emit."""
    text = DOC.read_text(encoding="utf-8")
    law = text[text.index("### Lien-law events") :].split("\n## ")[0]
    rest = text[text.index("\n## Events") :].split("\n## ")[1]
    documented = set(re.findall(r"`([A-Z][A-Za-z]+)`", law + rest))
    source = "".join(path.read_text() for path in (ROOT / "chaincode" / "mortgage").glob("*.py"))
    emitted = set(re.findall(r'ctx\.emit\(\s*"([A-Za-z]+)"', source))
    assert len(emitted) >= 40 and documented == emitted
