"""FundingService: request validation, proto ⇄ domain, the use case. Nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import grpc

from aicc.funding.v1 import funding_pb2 as pb
from aicc.funding.v1 import funding_pb2_grpc
from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.pagination import PageRequest, PageTokens, page_size
from aicc.platform.ports import Clock
from aicc.platform.validation import Check
from services.funding.domain import appropriations, concurrence, usecases
from services.funding.domain.model import (
    Appropriation,
    Budget,
    Disbursement,
    DisbursementStatus,
    FinanceConcurrence,
    LedgerEntry,
    Line,
)
from services.funding.domain.ports import Treasury

Context = grpc.aio.ServicerContext[Any, Any]

STATUS_TO_PB = {
    DisbursementStatus.REQUESTED: pb.DISBURSEMENT_STATUS_REQUESTED,
    DisbursementStatus.PAID: pb.DISBURSEMENT_STATUS_PAID,
    DisbursementStatus.FAILED: pb.DISBURSEMENT_STATUS_FAILED,
}

FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 2000, 2100
# The most an appropriation may be: 1 trillion yuan (the province's whole budget is about that);
# it keeps every sum of the ledger far inside 64-bit integers.
MAX_APPROPRIATION_FEN = 10**14
TIER_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")  # fullmatch: "$" would accept a trailing newline
DOCUMENT_NO_LENGTH, TARGETS_LENGTH, OPINION_LENGTH = 100, 4000, 2000


# ------------------------------------------------------------------ domain → proto


def budget_pb(b: Budget) -> pb.Budget:
    return pb.Budget(
        cycle_id=b.cycle_id,
        total_fen=b.total_fen,
        reserved_fen=b.reserved_fen,
        disbursed_fen=b.disbursed_fen,
        available_fen=b.available_fen,
        reservation_version=b.reservation_version,
        appropriation_id=b.appropriation_id,
        fiscal_year=b.fiscal_year,
        closed=b.closed,
        returned_fen=b.returned_fen,
        caps=[pb.TierCap(tier=t, cap_fen=c) for t, c in sorted(b.caps.items())],
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
        failure=d.failure,
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


def appropriation_pb(a: Appropriation) -> pb.Appropriation:
    return pb.Appropriation(
        appropriation_id=a.appropriation_id,
        fiscal_year=a.fiscal_year,
        budget_document_no=a.budget_document_no,
        amount_fen=a.amount_fen,
        drawn_fen=a.drawn_fen,
        available_fen=a.available_fen,
        opened_by=a.opened_by,
        opened_at=ts(a.opened_at),
        performance_targets=a.performance_targets,
    )


def line_pb(x: Line) -> pb.ReservationLine:
    return pb.ReservationLine(
        application_id=x.application_id,
        organization_id=x.organization_id,
        amount_fen=x.amount_fen,
        city_code=x.city_code,
        tier=x.tier,
    )


def concurrence_pb(c: FinanceConcurrence) -> pb.FinanceConcurrence:
    return pb.FinanceConcurrence(
        cycle_id=c.cycle_id,
        proposal_version=c.proposal_version,
        agree=c.agree,
        opinion=c.opinion,
        decided_by=c.decided_by,
        decided_by_name=c.decided_by_name,
        decided_at=ts(c.decided_at),
        lines=[line_pb(x) for x in c.lines],
    )


# ------------------------------------------------------------------ request checks


def _fiscal_year(v: Check, field: str, year: int, *, required: bool = True) -> None:
    if not year and not required:
        return
    if not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
        v.fail(
            field,
            f"must be a fiscal year from {FIRST_FISCAL_YEAR} to {LAST_FISCAL_YEAR}",
            f"须为 {FIRST_FISCAL_YEAR} 至 {LAST_FISCAL_YEAR} 之间的预算年度",
        )


def _tier(v: Check, field: str, tier: str) -> None:
    if v.required(field, tier) and not TIER_RE.fullmatch(tier):
        v.fail(
            field,
            "must be a tier key of the policy, e.g. excellent",
            "须为实施细则中的档次代码，如 excellent",
        )


def _lines(v: Check, lines: Iterable[pb.ReservationLine]) -> list[Line]:
    seen: set[str] = set()
    out = []
    for i, line in enumerate(lines):
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
        _tier(v, f"lines[{i}].tier", line.tier)
        out.append(
            Line(line.application_id, line.organization_id, line.amount_fen, line.city_code, line.tier)
        )
    return out


def _caps(v: Check, caps: Iterable[pb.TierCap]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, cap in enumerate(caps):
        _tier(v, f"caps[{i}].tier", cap.tier)
        v.positive(f"caps[{i}].cap_fen", cap.cap_fen)
        if cap.tier in out:
            v.fail(f"caps[{i}].tier", f"duplicate tier {cap.tier!r}", f"档次 {cap.tier} 重复")
        out[cap.tier] = cap.cap_fen
    return out


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

    def _page(self, rpc: str, query: Mapping[str, object], size: int, token: str) -> PageRequest:
        """The page asked for; read after the request is valid (a token is bound to caller + filter)."""
        return self.page_tokens.read(token, caller=principal().user_id, rpc=rpc, query=query, size=size)

    def _next_token(self, rpc: str, query: Mapping[str, object], cursor: list[object] | None) -> str:
        return self.page_tokens.issue(cursor, caller=principal().user_id, rpc=rpc, query=query)

    # ------------------------------------------------------------ appropriations

    async def OpenAppropriation(
        self, request: pb.OpenAppropriationRequest, context: Context
    ) -> pb.OpenAppropriationResponse:
        v = Check()
        _fiscal_year(v, "fiscal_year", request.fiscal_year)
        if v.required("budget_document_no", request.budget_document_no):
            v.max_length("budget_document_no", request.budget_document_no, DOCUMENT_NO_LENGTH)
        if v.positive("amount_fen", request.amount_fen) and request.amount_fen > MAX_APPROPRIATION_FEN:
            v.fail("amount_fen", "must be at most 1 trillion yuan", "不得超过1万亿元")
        if v.required("performance_targets", request.performance_targets):
            v.max_length("performance_targets", request.performance_targets, TARGETS_LENGTH)
        v.done()
        a = await appropriations.open_appropriation(
            uow=self.uow,
            principal=principal(),
            fiscal_year=request.fiscal_year,
            budget_document_no=request.budget_document_no.strip(),
            amount_fen=request.amount_fen,
            performance_targets=request.performance_targets.strip(),
            now=self.clock(),
        )
        return pb.OpenAppropriationResponse(appropriation=appropriation_pb(a))

    async def GetAppropriation(
        self, request: pb.GetAppropriationRequest, context: Context
    ) -> pb.GetAppropriationResponse:
        v = Check()
        _fiscal_year(v, "fiscal_year", request.fiscal_year)
        v.done()
        a = await appropriations.get_appropriation(uow=self.uow, fiscal_year=request.fiscal_year)
        return pb.GetAppropriationResponse(appropriation=appropriation_pb(a))

    async def ListAppropriations(
        self, request: pb.ListAppropriationsRequest, context: Context
    ) -> pb.ListAppropriationsResponse:
        rpc = "ListAppropriations"
        page = await appropriations.list_appropriations(
            uow=self.uow, page=self._page(rpc, {}, page_size(request.page_size), request.page_token)
        )
        return pb.ListAppropriationsResponse(
            appropriations=[appropriation_pb(a) for a in page.items],
            next_page_token=self._next_token(rpc, {}, page.next_cursor),
        )

    # ------------------------------------------------------------ a cycle's budget

    async def OpenBudget(self, request: pb.OpenBudgetRequest, context: Context) -> pb.OpenBudgetResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("total_fen", request.total_fen)
        _fiscal_year(v, "fiscal_year", request.fiscal_year, required=False)
        caps = _caps(v, request.caps)
        v.done()
        budget = await usecases.open_budget(
            uow=self.uow,
            cycle_id=request.cycle_id,
            total_fen=request.total_fen,
            fiscal_year=request.fiscal_year,
            caps=caps,
            now=self.clock(),
        )
        return pb.OpenBudgetResponse(budget=budget_pb(budget))

    async def CloseBudget(self, request: pb.CloseBudgetRequest, context: Context) -> pb.CloseBudgetResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        budget = await usecases.close_budget(uow=self.uow, cycle_id=request.cycle_id, now=self.clock())
        return pb.CloseBudgetResponse(budget=budget_pb(budget))

    async def RecordFinanceConcurrence(
        self, request: pb.RecordFinanceConcurrenceRequest, context: Context
    ) -> pb.RecordFinanceConcurrenceResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("proposal_version", request.proposal_version)
        if request.agree:
            v.required("lines", list(request.lines))
        else:  # a return says why
            v.required("opinion", request.opinion)
        v.max_length("opinion", request.opinion, OPINION_LENGTH)
        lines = _lines(v, request.lines)
        v.done()
        c = await concurrence.record_finance_concurrence(
            uow=self.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            version=request.proposal_version,
            agree=request.agree,
            opinion=request.opinion.strip(),
            lines=lines,
            now=self.clock(),
        )
        return pb.RecordFinanceConcurrenceResponse(concurrence=concurrence_pb(c))

    async def ListFinanceConcurrences(
        self, request: pb.ListFinanceConcurrencesRequest, context: Context
    ) -> pb.ListFinanceConcurrencesResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc, query = "ListFinanceConcurrences", {"cycle_id": request.cycle_id}
        page = await concurrence.list_finance_concurrences(
            uow=self.uow,
            cycle_id=request.cycle_id,
            page=self._page(rpc, query, page_size(request.page_size), request.page_token),
        )
        return pb.ListFinanceConcurrencesResponse(
            concurrences=[concurrence_pb(c) for c in page.items],
            next_page_token=self._next_token(rpc, query, page.next_cursor),
        )

    async def ReserveFunds(
        self, request: pb.ReserveFundsRequest, context: Context
    ) -> pb.ReserveFundsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("proposal_version", request.proposal_version)
        lines = _lines(v, request.lines)
        v.done()
        budget = await usecases.reserve_funds(
            uow=self.uow,
            cycle_id=request.cycle_id,
            version=request.proposal_version,
            lines=lines,
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

    # ------------------------------------------------------------ reads

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
        rpc, query = "ListDisbursements", {"cycle_id": request.cycle_id}
        page = await usecases.list_disbursements(
            uow=self.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            page=self._page(rpc, query, page_size(request.page_size), request.page_token),
        )
        return pb.ListDisbursementsResponse(
            disbursements=[disbursement_pb(d) for d in page.items],
            next_page_token=self._next_token(rpc, query, page.next_cursor),
        )

    async def ListLedgerEntries(
        self, request: pb.ListLedgerEntriesRequest, context: Context
    ) -> pb.ListLedgerEntriesResponse:
        v = Check()
        if request.fiscal_year:  # the appropriation's statement
            _fiscal_year(v, "fiscal_year", request.fiscal_year)
            if request.cycle_id:
                v.fail("cycle_id", "give a cycle or a fiscal year, not both", "年度与预算年度只能指定其一")
        else:
            v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc = "ListLedgerEntries"
        query = {"cycle_id": request.cycle_id, "fiscal_year": request.fiscal_year}
        page_req = self._page(rpc, query, page_size(request.page_size), request.page_token)
        if request.fiscal_year:
            page = await appropriations.appropriation_statement(
                uow=self.uow, fiscal_year=request.fiscal_year, page=page_req
            )
        else:
            page = await usecases.list_ledger_entries(uow=self.uow, cycle_id=request.cycle_id, page=page_req)
        return pb.ListLedgerEntriesResponse(
            entries=[entry_pb(e) for e in page.items],
            next_page_token=self._next_token(rpc, query, page.next_cursor),
        )
