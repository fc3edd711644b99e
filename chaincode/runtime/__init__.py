"""Python chaincode runtime: contract API, chaincode-as-a-service server, in-process host.

Modules: ``contract`` (Contract, Context, @submit/@evaluate, errors), ``identity`` (ClientIdentity),
``policy`` (KeyEndorsementPolicy), ``interfaces`` (the ChaincodeStub contract), ``server`` /
``handler`` / ``peerstub`` (the peer protocol), ``inprocess`` (the embedded ledger's host),
``testing`` and ``fakepeer`` (test tools). Importing this package has no side effects: no logging
configuration, no threads. See docs/chaincode-runtime.md.
"""
