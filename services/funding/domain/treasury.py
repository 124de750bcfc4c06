"""The treasury port: how a disbursement reaches the recipient.

The real adapter talks to the provincial treasury's payment system (省级国库集中支付系统). Its
contract, which every adapter (and the fake) keeps:

- ``pay`` submits one payment order; the **request number is the idempotency key**. Submitting the
  same key again must not pay twice: the treasury answers with the receipt of the first order.
- On success it returns a :class:`TreasuryReceipt` — the treasury's reference for the payment and
  when it was paid.
- A definitive refusal (unknown payee account, order rejected) raises :class:`TreasuryRejected`;
  the disbursement is then marked FAILED and may be retried under a new key.
- Anything transient (timeout, connection refused, treasury closed) raises
  :class:`TreasuryUnavailable` (or any other exception): the outcome is unknown, so the disbursement
  stays REQUESTED and a retry **with the same key** resumes it — safe because of the first rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aicc.platform.clock import now_utc


@dataclass(frozen=True)
class TreasuryReceipt:
    reference: str
    paid_at: datetime


class TreasuryRejected(Exception):
    """The treasury refused the order for good; paying again under the same key will not help."""


class TreasuryUnavailable(Exception):
    """The outcome is unknown (transient failure): retry with the same idempotency key."""


class Treasury(Protocol):
    async def pay(
        self, *, idempotency_key: str, payee_organization_id: str, amount_fen: int, memo: str
    ) -> TreasuryReceipt: ...


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


def treasury_from_settings(settings) -> Treasury:
    """The adapter a process uses. Only the fake exists yet; a setting
    (``AICC_TREASURY_ADAPTER``, default ``fake``) will select the real one."""
    kind = getattr(settings, "treasury_adapter", "fake") or "fake"
    if kind != "fake":
        raise RuntimeError(f"unknown treasury adapter {kind!r}")
    return FakeTreasury()
