"""Adapters of funding's outbound port: the treasury (contract in ``domain/ports.py``).

Only the in-process fake exists yet; the real adapter to the provincial treasury's payment system
will sit here beside it, selected by ``treasury_from_settings``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aicc.platform.clock import now_utc
from aicc.platform.settings import Settings
from services.funding.domain.ports import Treasury, TreasuryReceipt, TreasuryRejected, TreasuryUnavailable


@dataclass
class FakeTreasury:
    """In-process stand-in: idempotent on the key, with a reference derived from it.

    ``unavailable_times`` / ``reject`` let tests rehearse a crash or a refusal. ``orders`` holds one
    entry per distinct key actually paid; ``calls`` counts every call.
    """

    unavailable_times: int = 0
    reject: bool = False
    calls: int = 0
    orders: dict[str, tuple[str, int, TreasuryReceipt]] = field(default_factory=dict)

    @staticmethod
    def reference_for(idempotency_key: str) -> str:
        return "GK" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16].upper()

    async def pay(
        self, *, idempotency_key: str, payee_organization_id: str, amount_fen: int, memo: str
    ) -> TreasuryReceipt:
        self.calls += 1
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise TreasuryUnavailable("treasury did not answer (simulated)")
        if self.reject:
            raise TreasuryRejected("payee account refused (simulated)")
        if idempotency_key in self.orders:
            return self.orders[idempotency_key][2]
        receipt = TreasuryReceipt(self.reference_for(idempotency_key), now_utc())
        self.orders[idempotency_key] = (payee_organization_id, amount_fen, receipt)
        return receipt


def treasury_from_settings(settings: Settings) -> Treasury:
    """The adapter a process uses. Only the fake exists yet; a setting
    (``AICC_TREASURY_ADAPTER``, default ``fake``) will select the real one."""
    kind = getattr(settings, "treasury_adapter", "fake") or "fake"
    if kind != "fake":
        raise RuntimeError(f"unknown treasury adapter {kind!r}")
    return FakeTreasury()
