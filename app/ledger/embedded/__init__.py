"""The embedded ledger adapter: a single-process ledger behind the LedgerPort (see docs/embedded-ledger.md).

A regular package (not a namespace one) so wheels ship it and the import-linter contracts see it.
"""
