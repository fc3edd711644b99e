"""A Python client for the Fabric Gateway (peer gateway.Gateway + Deliver), modelled on fabric-gateway.

Blocking::

    identity, signer = load_msp_folder(msp_dir, "BankAMSP")
    with create_channel("127.0.0.1:7051", tls_root_certificates=ca_pem) as channel:
        gateway = connect(identity, signer, channel)
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        contract.submit_transaction("RegisterVehicle", vin, json_doc)

asyncio: ``connect_async`` with ``create_async_channel``; the same objects with ``await``.
"""

from . import hashing
from .block_events import FILTERED, FULL, WITH_PRIVATE_DATA
from .block_parser import BlockTransaction, block_transactions
from .checkpointer import Checkpoint, FileCheckpointer, InMemoryCheckpointer
from .commit import AsyncCommit, Commit, Status
from .commit_listener import CommitListeners
from .connection import create_async_channel, create_channel
from .contract import AsyncContract, Contract, Submitted
from .errors import (
    BlockEventsError,
    ChaincodeEventsError,
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    GatewayError,
    SubmitError,
    TransactionError,
)
from .events import ChaincodeEvent
from .gateway import AsyncGateway, Gateway, connect, connect_async, new_commit_listeners
from .identity import Identity, identity_from_cert_file, identity_from_pem
from .msp import load_msp_folder, load_pem_files
from .network import AsyncNetwork, Network
from .options import DEFAULT, Deadlines, ReconnectPolicy
from .proposal import AsyncProposal, Proposal
from .signing import PrivateKeySigner, Sign, load_private_key, new_private_key_signer, signer_from_pem
from .transaction import AsyncTransaction, Transaction

__all__ = [
    "DEFAULT",
    "FILTERED",
    "FULL",
    "WITH_PRIVATE_DATA",
    "AsyncCommit",
    "AsyncContract",
    "AsyncGateway",
    "AsyncNetwork",
    "AsyncProposal",
    "AsyncTransaction",
    "BlockEventsError",
    "BlockTransaction",
    "ChaincodeEvent",
    "ChaincodeEventsError",
    "Checkpoint",
    "Commit",
    "CommitError",
    "CommitListeners",
    "CommitStatusError",
    "Contract",
    "Deadlines",
    "EndorseError",
    "ErrorDetail",
    "EvaluateError",
    "FileCheckpointer",
    "Gateway",
    "GatewayError",
    "Identity",
    "InMemoryCheckpointer",
    "Network",
    "PrivateKeySigner",
    "Proposal",
    "ReconnectPolicy",
    "Sign",
    "Status",
    "SubmitError",
    "Submitted",
    "Transaction",
    "TransactionError",
    "block_transactions",
    "connect",
    "connect_async",
    "create_async_channel",
    "create_channel",
    "hashing",
    "identity_from_cert_file",
    "identity_from_pem",
    "load_msp_folder",
    "load_pem_files",
    "load_private_key",
    "new_commit_listeners",
    "new_private_key_signer",
    "signer_from_pem",
]
