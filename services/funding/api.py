"""FundingService: request validation, proto ⇄ domain, the use case. Nothing else."""

from __future__ import annotations

from typing import Any

import grpc

from aicc.funding.v1 import funding_pb2 as pb
from aicc.funding.v1 import funding_pb2_grpc
from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.pagination import PageRequest, PageTokens, page_size
from aicc.platform.ports import Clock
from aicc.platform.validation import Check
from services.funding.domain import usecases
from services.funding.domain.model import Budget, Disbursement, DisbursementStatus, LedgerEntry, Line
from services.funding.domain.ports import Treasury

Context = grpc.aio.ServicerContext[Any, Any]

STATUS_TO_PB = {
    DisbursementStatus.REQUESTED: pb.DISBURSEMENT_STATUS_REQUESTED,
    DisbursementStatus.PAID: pb.DISBURSEMENT_STATUS_PAID,
    DisbursementStatus.FAILED: pb.DISBURSEMENT_STATUS_FAILED,
}


def budget_pb(b: Budget) -> pb.Budget:
    return pb.Budget(
        cycle_id=b.cycle_id,
        total_fen=b.total_fen,
        reserved_fen=b.reserved_fen,
        disbursed_fen=b.disbursed_fen,
        available_fen=b.available_fen,
        reservation_version=b.reservation_version,
    )


def disbursement_pb(d: Disbursement) -> pb.Disbursement:
    return pb.Disbursement(
        disbursement_id=d.disbursement_id,
        cycle_id=d.cycle_id,
        application_id=d.application_id,
        organization_id=d.organization_id,
        amount_fen=d.amount_fen,
        status=STATUS_TO_PB[d.status],
        treasury_reference=d.treasury_reference,
        idempotency_key=d.idempotency_key,
        requested_at=ts(d.requested_at),
        city_code=d.city_code,
    )


def entry_pb(e: LedgerEntry) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        entry_id=e.entry_id,
        cycle_id=e.cycle_id,
        transaction_id=e.transaction_id,
        account=e.account,
        amount_fen=e.amount_fen,
        memo=e.memo,
        posted_at=ts(e.posted_at),
    )


class FundingServicer(funding_pb2_grpc.FundingServiceServicer):
    def __init__(
        self,
        *,
        uow: usecases.FundingUnitOfWork,
        treasury: Treasury,
        page_tokens: PageTokens,
        clock: Clock,
    ) -> None:
        self.uow = uow
        self.treasury = treasury
        self.page_tokens = page_tokens
        self.clock = clock

    def _page(self, rpc: str, cycle_id: str, size: int, token: str) -> PageRequest:
        """The page asked for; read after the request is valid (a token is bound to caller + filter)."""
        return self.page_tokens.read(
            token, caller=principal().user_id, rpc=rpc, query={"cycle_id": cycle_id}, size=size
        )

    def _next_token(self, rpc: str, cycle_id: str, cursor: list[object] | None) -> str:
        return self.page_tokens.issue(
            cursor, caller=principal().user_id, rpc=rpc, query={"cycle_id": cycle_id}
        )

    async def OpenBudget(self, request: pb.OpenBudgetRequest, context: Context) -> pb.OpenBudgetResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("total_fen", request.total_fen)
        v.done()
        budget = await usecases.open_budget(
            uow=self.uow, cycle_id=request.cycle_id, total_fen=request.total_fen, now=self.clock()
        )
        return pb.OpenBudgetResponse(budget=budget_pb(budget))

    async def ReserveFunds(
        self, request: pb.ReserveFundsRequest, context: Context
    ) -> pb.ReserveFundsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("proposal_version", request.proposal_version)
        seen: set[str] = set()
        for i, line in enumerate(request.lines):
            if v.identifier(f"lines[{i}].application_id", line.application_id):
                if line.application_id in seen:
                    v.fail(
                        f"lines[{i}].application_id",
                        f"duplicate application {line.application_id!r}",
                        f"申报 {line.application_id} 重复",
                    )
                seen.add(line.application_id)
            v.identifier(f"lines[{i}].organization_id", line.organization_id)
            v.positive(f"lines[{i}].amount_fen", line.amount_fen)
            v.city_code(f"lines[{i}].city_code", line.city_code)
        v.done()
        budget = await usecases.reserve_funds(
            uow=self.uow,
            cycle_id=request.cycle_id,
            version=request.proposal_version,
            lines=[
                Line(x.application_id, x.organization_id, x.amount_fen, x.city_code) for x in request.lines
            ],
            now=self.clock(),
        )
        return pb.ReserveFundsResponse(budget=budget_pb(budget))

    async def DisburseAward(
        self, request: pb.DisburseAwardRequest, context: Context
    ) -> pb.DisburseAwardResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        v.identifier("organization_id", request.organization_id)
        v.positive("amount_fen", request.amount_fen)
        v.identifier("idempotency_key", request.idempotency_key)
        v.city_code("city_code", request.city_code, required=False)
        v.done()
        d = await usecases.disburse_award(
            uow=self.uow,
            treasury=self.treasury,
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            organization_id=request.organization_id,
            amount_fen=request.amount_fen,
            idempotency_key=request.idempotency_key,
            city_code=request.city_code,
            clock=self.clock,
        )
        return pb.DisburseAwardResponse(disbursement=disbursement_pb(d))

    async def GetBudget(self, request: pb.GetBudgetRequest, context: Context) -> pb.GetBudgetResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        budget = await usecases.get_budget(uow=self.uow, cycle_id=request.cycle_id)
        return pb.GetBudgetResponse(budget=budget_pb(budget))

    async def ListDisbursements(
        self, request: pb.ListDisbursementsRequest, context: Context
    ) -> pb.ListDisbursementsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc = "ListDisbursements"
        page = await usecases.list_disbursements(
            uow=self.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            page=self._page(rpc, request.cycle_id, page_size(request.page_size), request.page_token),
        )
        return pb.ListDisbursementsResponse(
            disbursements=[disbursement_pb(d) for d in page.items],
            next_page_token=self._next_token(rpc, request.cycle_id, page.next_cursor),
        )

    async def ListLedgerEntries(
        self, request: pb.ListLedgerEntriesRequest, context: Context
    ) -> pb.ListLedgerEntriesResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc = "ListLedgerEntries"
        page = await usecases.list_ledger_entries(
            uow=self.uow,
            cycle_id=request.cycle_id,
            page=self._page(rpc, request.cycle_id, page_size(request.page_size), request.page_token),
        )
        return pb.ListLedgerEntriesResponse(
            entries=[entry_pb(e) for e in page.items],
            next_page_token=self._next_token(rpc, request.cycle_id, page.next_cursor),
        )
