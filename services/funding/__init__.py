"""Funding service: a cycle's budget under total-amount control (Art. 3), its double-entry ledger,
reservations for the proposal and disbursements to the provincial treasury (Art. 11-13)."""
