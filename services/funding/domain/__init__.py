"""Pure domain logic of the funding service: the ledger, its use cases, the treasury port."""
