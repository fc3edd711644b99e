"""The Mortgage-Asset chaincode (`mortgage`): contract, request/record models, rules and access table."""
