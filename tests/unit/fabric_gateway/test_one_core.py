"""The blocking and asyncio clients share one core: each pair differs only in the methods that wait.

Why: the two APIs used to be whole copies (Gateway, Network and every request class twice), so a
fix made to one was easily missed in the other. What does no I/O is written once; this test fails
when a method other than an I/O one is defined on a blocking or asyncio class again.
"""

from __future__ import annotations

import inspect

import grpc
import pytest

from app.fabric_gateway import (
    AsyncCommit,
    AsyncContract,
    AsyncGateway,
    AsyncNetwork,
    AsyncProposal,
    AsyncTransaction,
    Commit,
    Contract,
    Gateway,
    Identity,
    Network,
    PrivateKeySigner,
    Proposal,
    Transaction,
    connect,
    connect_async,
)
from app.fabric_gateway.client import AsyncGatewayClient, GatewayClient
from app.fabric_gateway.commit_listener import AsyncCommitListener, CommitListener
from app.fabric_gateway.event_stream import AsyncEventIterator, EventIterator

# Each blocking/asyncio pair and the only methods each side may define itself (its I/O).
PAIRS = [
    (Gateway, AsyncGateway, {"close", "__enter__", "__exit__"}, {"close", "__aenter__", "__aexit__"}),
    (Contract, AsyncContract, {"evaluate_transaction", "submit", "submit_transaction"}, None),
    (Proposal, AsyncProposal, {"evaluate", "endorse"}, None),
    (Transaction, AsyncTransaction, {"submit"}, None),
    (Commit, AsyncCommit, {"get_status"}, None),
    (
        EventIterator,
        AsyncEventIterator,
        {"__init__", "__iter__", "__next__", "close", "__enter__", "__exit__"},
        {"__init__", "__aiter__", "__anext__", "close", "aclose", "__aenter__", "__aexit__"},
    ),
    (
        GatewayClient,
        AsyncGatewayClient,
        {"__init__", "evaluate", "endorse", "submit", "commit_status", "deliver"},
        None,
    ),
    (
        CommitListener,
        AsyncCommitListener,
        {"__init__", "settle", "register", "forget", "_run", "close"},
        {"__init__", "settle", "register", "_run", "close"},
    ),
]


def own_methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if inspect.isfunction(value)}


@pytest.mark.parametrize(("blocking", "asynchronous", "blocking_io", "async_io"), PAIRS)
def test_a_pair_differs_only_in_its_io_methods(
    blocking: type, asynchronous: type, blocking_io: set[str], async_io: set[str] | None
) -> None:
    assert own_methods(blocking) == blocking_io
    assert own_methods(asynchronous) == (blocking_io if async_io is None else async_io)
    shared = [base for base in blocking.__mro__[1:] if base in asynchronous.__mro__ and base is not object]
    assert shared, f"{blocking.__name__} and {asynchronous.__name__} share no core class"


async def test_network_is_one_class_for_both_flavours(credentials: tuple[Identity, PrivateKeySigner]) -> None:
    identity, signer = credentials
    with grpc.insecure_channel("127.0.0.1:1") as channel:
        network = connect(identity, signer, channel, commit_listener=False).get_network("vehicles")
    async with grpc.aio.insecure_channel("127.0.0.1:1") as aio_channel:
        async_network = connect_async(identity, signer, aio_channel, commit_listener=False).get_network(
            "vehicles"
        )
    assert type(network) is type(async_network) is Network
    assert AsyncNetwork.__origin__ is Network  # type: ignore[attr-defined]
    assert isinstance(network.get_contract("cc"), Contract)
    assert isinstance(async_network.get_contract("cc"), AsyncContract)
