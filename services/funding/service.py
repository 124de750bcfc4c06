"""How funding is served: its servicer with the unit of work on its own database, page tokens under
its audit key, and the treasury adapter the settings select (tests may replace ``app.treasury``
before the first payment)."""

from __future__ import annotations

import grpc

from aicc.funding.v1 import funding_pb2, funding_pb2_grpc
from aicc.platform.clock import now_utc
from aicc.platform.db import unit_of_work
from aicc.platform.pagination import PageTokens
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from services.funding.adapters import treasury_from_settings
from services.funding.api import FundingServicer
from services.funding.domain.ports import Treasury, TreasuryOrder, TreasuryReceipt
from services.funding.store import Base, FundingStore


class FundingApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.treasury: Treasury = treasury_from_settings(rt.settings)

    def register(self, server: grpc.aio.Server) -> None:
        funding_pb2_grpc.add_FundingServiceServicer_to_server(
            FundingServicer(
                uow=unit_of_work(self.rt.db, FundingStore),
                treasury=_CurrentTreasury(self),
                page_tokens=PageTokens(self.rt.audit_key),
                clock=now_utc,
            ),
            server,
        )


class _CurrentTreasury:
    """The app's treasury at the time of each payment, so that a replacement takes effect."""

    def __init__(self, app: FundingApp) -> None:
        self.app = app

    async def pay(
        self, *, idempotency_key: str, payee_organization_id: str, amount_fen: int, memo: str
    ) -> TreasuryReceipt:
        return await self.app.treasury.pay(
            idempotency_key=idempotency_key,
            payee_organization_id=payee_organization_id,
            amount_fen=amount_fen,
            memo=memo,
        )

    async def status(self, *, idempotency_key: str) -> TreasuryOrder:
        return await self.app.treasury.status(idempotency_key=idempotency_key)


SPEC = ServiceSpec(
    name="funding",
    service_names=(funding_pb2.DESCRIPTOR.services_by_name["FundingService"].full_name,),
    build=FundingApp,
    metadata=Base.metadata,
)
