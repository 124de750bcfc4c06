"""FundingService: proto ⇄ domain only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.exc import IntegrityError

from aicc.funding.v1 import funding_pb2 as pb
from aicc.funding.v1 import funding_pb2_grpc
from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.server import Runtime
from aicc.platform.validation import Check
from services.funding.domain import usecases
from services.funding.domain.treasury import Treasury
from services.funding.store import FundingStore

STATUS_TO_PB = {
    usecases.REQUESTED: pb.DISBURSEMENT_STATUS_REQUESTED,
    usecases.PAID: pb.DISBURSEMENT_STATUS_PAID,
    usecases.FAILED: pb.DISBURSEMENT_STATUS_FAILED,
}


def budget_pb(b) -> pb.Budget:
    return pb.Budget(
        cycle_id=b.cycle_id,
        total_fen=b.total_fen,
        reserved_fen=b.reserved_fen,
        disbursed_fen=b.disbursed_fen,
        available_fen=b.available_fen,
        reservation_version=b.reservation_version,
    )


def disbursement_pb(d) -> pb.Disbursement:
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


def entry_pb(e) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        entry_id=e.entry_id,
        cycle_id=e.cycle_id,
        transaction_id=e.transaction_id,
        account=e.account,
        amount_fen=e.amount_fen,
        memo=e.memo,
        posted_at=ts(e.posted_at),
    )


def _city_code(v: Check, field: str, value: str, *, required: bool = True) -> None:
    if not value:
        if required:
            v.fail(field, "is required", "必填")
        return
    if len(value) != 6 or not value.isdigit():
        v.fail(field, "must be a 6-digit administrative division code", "须为6位行政区划代码")


class FundingServicer(funding_pb2_grpc.FundingServiceServicer):
    def __init__(self, rt: Runtime, treasury: Treasury) -> None:
        self.rt = rt
        self.treasury = treasury

    @contextlib.asynccontextmanager
    async def _uow(self) -> AsyncIterator[FundingStore]:
        async with self.rt.db.transaction() as s:
            yield FundingStore(s)

    async def OpenBudget(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("total_fen", request.total_fen)
        v.done()
        for attempt in (1, 2):
            try:
                async with self._uow() as store:
                    row = await usecases.open_budget(
                        store, cycle_id=request.cycle_id, total_fen=request.total_fen
                    )
                return pb.OpenBudgetResponse(budget=budget_pb(row))
            except IntegrityError:  # a concurrent first opening won the insert: answer as a repeat
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def ReserveFunds(self, request, context):
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
            _city_code(v, f"lines[{i}].city_code", line.city_code)
        v.done()
        lines = [
            usecases.Line(x.application_id, x.organization_id, x.amount_fen, x.city_code)
            for x in request.lines
        ]
        async with self._uow() as store:
            row = await usecases.reserve_funds(
                store, cycle_id=request.cycle_id, version=request.proposal_version, lines=lines
            )
            return pb.ReserveFundsResponse(budget=budget_pb(row))

    async def DisburseAward(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        v.identifier("organization_id", request.organization_id)
        v.positive("amount_fen", request.amount_fen)
        v.identifier("idempotency_key", request.idempotency_key)
        _city_code(v, "city_code", request.city_code, required=False)
        v.done()
        row = await usecases.disburse_award(
            self._uow,
            self.treasury,
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            organization_id=request.organization_id,
            amount_fen=request.amount_fen,
            idempotency_key=request.idempotency_key,
            city_code=request.city_code,
        )
        return pb.DisburseAwardResponse(disbursement=disbursement_pb(row))

    async def GetBudget(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        async with self._uow() as store:
            row = await usecases.get_budget(store, cycle_id=request.cycle_id)
            return pb.GetBudgetResponse(budget=budget_pb(row))

    async def ListDisbursements(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        async with self._uow() as store:
            rows = await usecases.list_disbursements(store, principal(), cycle_id=request.cycle_id)
            return pb.ListDisbursementsResponse(disbursements=[disbursement_pb(d) for d in rows])

    async def ListLedgerEntries(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        async with self._uow() as store:
            rows = await usecases.list_ledger_entries(store, cycle_id=request.cycle_id)
            return pb.ListLedgerEntriesResponse(entries=[entry_pb(e) for e in rows])
