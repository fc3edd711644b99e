#!/usr/bin/env python3
"""The transport's floor: a bare grpcio chaincode with no contract layer, kept as the benchmark's yardstick.

It does only what any Python chaincode must do per invocation: parse the TRANSACTION (its ChaincodeInput;
the signed proposal arrives parsed with the message), send GET_STATE or PUT_STATE for ``Get``/``Put``,
take the RESPONSE, send COMPLETED. One asyncio coroutine per stream, no task per transaction, no logs.
``scripts/bench/chaincode_cost.py`` runs it next to the project's runtime and a Go chaincode.

Usage: python scripts/bench/bare_chaincode.py --chaincode-id ID --address 127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio

import grpc
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc

Msg = shim.ChaincodeMessage
OK = proposal_response_pb2.Response(status=200).SerializeToString()


class Bare(shim_grpc.ChaincodeServicer):
    def __init__(self, chaincode_id: str) -> None:
        self.chaincode_id = chaincode_id

    async def Connect(self, request_iterator: object, context: grpc.aio.ServicerContext) -> None:  # type: ignore[override]
        write, read = context.write, context.read
        await write(
            Msg(
                type=Msg.REGISTER,
                payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString(),
            )
        )
        waiting: dict[str, int] = {}  # tx id → the request type it has outstanding
        while True:
            msg = await read()
            if msg is grpc.aio.EOF:
                return
            t = msg.type
            if t == Msg.TRANSACTION:
                args = chaincode_pb2.ChaincodeInput.FromString(msg.payload).args
                fn = args[0]
                if fn == b"Put":
                    req = Msg(
                        type=Msg.PUT_STATE,
                        payload=shim.PutState(key=args[1].decode(), value=args[2]).SerializeToString(),
                        txid=msg.txid,
                        channel_id=msg.channel_id,
                    )
                else:
                    req = Msg(
                        type=Msg.GET_STATE,
                        payload=shim.GetState(key=args[1].decode()).SerializeToString(),
                        txid=msg.txid,
                        channel_id=msg.channel_id,
                    )
                waiting[msg.txid] = req.type
                await write(req)
            elif t == Msg.RESPONSE or t == Msg.ERROR:
                kind = waiting.pop(msg.txid, None)
                if kind is None:
                    continue
                payload = (
                    OK
                    if kind == Msg.PUT_STATE
                    else proposal_response_pb2.Response(status=200, payload=msg.payload).SerializeToString()
                )
                await write(
                    Msg(type=Msg.COMPLETED, payload=payload, txid=msg.txid, channel_id=msg.channel_id)
                )
            elif t == Msg.KEEPALIVE:
                await write(msg)


async def serve(chaincode_id: str, address: str) -> None:
    server = grpc.aio.server()
    shim_grpc.add_ChaincodeServicer_to_server(Bare(chaincode_id), server)
    server.add_insecure_port(address)
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chaincode-id", required=True)
    p.add_argument("--address", required=True)
    args = p.parse_args()
    asyncio.run(serve(args.chaincode_id, args.address))


if __name__ == "__main__":
    main()
