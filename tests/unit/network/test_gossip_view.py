"""The discover CLI's answer is read as the JSON array it prints, whatever it logs around it (Fabric
3.1.1's `discover endorsers` prints more after the array than 2.5.9's)."""

from __future__ import annotations

from network.gossip_view import _json_list

LAYOUTS = '[\n {\n  "Chaincode": "mortgage",\n  "EndorsersByGroups": {"G0": []}\n }\n]'


def test_the_array_is_read_with_text_around_it() -> None:
    out = "2026-12-08 00:30:00.000 UTC 0001 WARN [comm.grpc] some notice\n" + LAYOUTS + "\n[\n]\nmore text\n"
    assert _json_list(out) == [{"Chaincode": "mortgage", "EndorsersByGroups": {"G0": []}}]
    assert _json_list(LAYOUTS) == _json_list(LAYOUTS + "\n")


def test_no_array_is_a_command_error_naming_the_output() -> None:
    import pytest

    from network.errors import CommandError

    with pytest.raises(CommandError, match=r"no JSON array: .*access denied"):
        _json_list("Error: access denied\n")
