"""SupervisionService: request validation and proto ⇄ domain mapping; the use cases decide."""

from __future__ import annotations

from collections.abc import Sized

import grpc

from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.pagination import PageTokens, page_size
from aicc.platform.ports import Clock, UnitOfWork
from aicc.platform.validation import Check
from aicc.supervision.v1 import supervision_pb2 as pb
from aicc.supervision.v1 import supervision_pb2_grpc
from services.supervision.domain import conclusions, evaluations, reports, status, targets
from services.supervision.domain.model import (
    AwardRef,
    Evaluation,
    Grade,
    MonitoringReport,
    PerformanceTarget,
    ReportedValue,
    SupervisionConclusion,
    TargetTemplate,
)
from services.supervision.domain.ports import SupervisionRepository

GRADE_TO_PB: dict[Grade, pb.EvaluationGrade.ValueType] = {
    Grade.EXCELLENT: pb.EVALUATION_GRADE_EXCELLENT,
    Grade.GOOD: pb.EVALUATION_GRADE_GOOD,
    Grade.PASS: pb.EVALUATION_GRADE_PASS,
    Grade.FAIL: pb.EVALUATION_GRADE_FAIL,
}
PB_TO_GRADE: dict[pb.EvaluationGrade.ValueType, Grade] = {v: k for k, v in GRADE_TO_PB.items()}


def target_pb(t: PerformanceTarget) -> pb.PerformanceTarget:
    return pb.PerformanceTarget(
        target_id=t.target_id,
        cycle_id=t.cycle_id,
        application_id=t.application_id,
        organization_id=t.organization_id,
        code=t.code,
        description=t.description,
        unit=t.unit,
        target_value=t.target_value,
        reported_value=t.reported_value,
        city_code=t.city_code,
    )


def report_pb(r: MonitoringReport) -> pb.MonitoringReport:
    return pb.MonitoringReport(
        report_id=r.report_id,
        cycle_id=r.cycle_id,
        application_id=r.application_id,
        values=[pb.ReportedValue(target_id=v.target_id, value=v.value) for v in r.values],
        narrative=r.narrative,
        submitted_at=ts(r.submitted_at),
    )


def evaluation_pb(e: Evaluation) -> pb.Evaluation:
    return pb.Evaluation(
        evaluation_id=e.evaluation_id,
        cycle_id=e.cycle_id,
        application_id=e.application_id,
        grade=GRADE_TO_PB[e.grade],
        comments=e.comments,
        evaluated_by=e.evaluated_by,
        evaluated_at=ts(e.evaluated_at),
    )


def conclusion_pb(c: SupervisionConclusion) -> pb.SupervisionConclusion:
    return pb.SupervisionConclusion(
        cycle_id=c.cycle_id,
        summary=c.summary,
        concluded_by=c.concluded_by,
        concluded_by_name=c.concluded_by_name,
        concluded_at=ts(c.concluded_at),
        awards=c.awards,
        evaluated=c.evaluated,
    )


def _non_empty(v: Check, field: str, items: Sized) -> None:
    if len(items) == 0:
        v.fail(field, "needs at least one entry", "至少需要一项")


def _unique(v: Check, field: str, values: list[str]) -> None:
    """Names the repeated entry's own field, e.g. ``awards[2].application_id``."""
    seen: set[str] = set()
    for i, x in enumerate(values):
        if x and x in seen:
            v.fail(field.format(i=i), f"duplicate value {x!r}", f"重复值 {x}")
        seen.add(x)


class SupervisionServicer(supervision_pb2_grpc.SupervisionServiceServicer):
    def __init__(
        self, *, uow: UnitOfWork[SupervisionRepository], page_tokens: PageTokens, clock: Clock
    ) -> None:
        self.uow = uow
        self.page_tokens = page_tokens
        self.clock = clock

    async def CreatePerformanceTargets(
        self, request: pb.CreatePerformanceTargetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePerformanceTargetsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if request.awards:  # a cycle may end with no awards; then there is nothing to set targets for
            _non_empty(v, "templates", request.templates)
        for i, a in enumerate(request.awards):
            v.identifier(f"awards[{i}].application_id", a.application_id)
            v.identifier(f"awards[{i}].organization_id", a.organization_id)
            v.positive(f"awards[{i}].amount_fen", a.amount_fen)
            v.city_code(f"awards[{i}].city_code", a.city_code)
        _unique(v, "awards[{i}].application_id", [a.application_id for a in request.awards])
        for i, t in enumerate(request.templates):
            v.identifier(f"templates[{i}].code", t.code)
            if v.required(f"templates[{i}].description", t.description):
                v.max_length(f"templates[{i}].description", t.description, 1000)
            v.max_length(f"templates[{i}].unit", t.unit, 64)
            if v.required(f"templates[{i}].target_value", t.target_value):
                v.max_length(f"templates[{i}].target_value", t.target_value, 200)
        _unique(v, "templates[{i}].code", [t.code for t in request.templates])
        v.done()
        created = await targets.create_targets(
            uow=self.uow,
            cycle_id=request.cycle_id,
            awards=[
                AwardRef(a.application_id, a.organization_id, a.amount_fen, a.city_code)
                for a in request.awards
            ],
            templates=[
                TargetTemplate(t.code, t.description, t.unit, t.target_value) for t in request.templates
            ],
            now=self.clock(),
        )
        return pb.CreatePerformanceTargetsResponse(targets=[target_pb(t) for t in created])

    async def ListPerformanceTargets(
        self, request: pb.ListPerformanceTargetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPerformanceTargetsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if request.application_id:
            v.identifier("application_id", request.application_id)
        v.non_negative("page_size", request.page_size)
        v.done()
        p = principal()
        caller, rpc = p.user_id, "ListPerformanceTargets"
        query = {"cycle_id": request.cycle_id, "application_id": request.application_id}
        page = self.page_tokens.read(
            request.page_token, caller=caller, rpc=rpc, query=query, size=page_size(request.page_size)
        )
        found = await targets.list_targets(
            uow=self.uow,
            principal=p,
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            page=page,
        )
        return pb.ListPerformanceTargetsResponse(
            targets=[target_pb(t) for t in found.items],
            next_page_token=self.page_tokens.issue(found.next_cursor, caller=caller, rpc=rpc, query=query),
        )

    async def SubmitMonitoringReport(
        self, request: pb.SubmitMonitoringReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitMonitoringReportResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        _non_empty(v, "values", request.values)
        for i, x in enumerate(request.values):
            v.identifier(f"values[{i}].target_id", x.target_id)
            if v.required(f"values[{i}].value", x.value):
                v.max_length(f"values[{i}].value", x.value, 200)
        _unique(v, "values[{i}].target_id", [x.target_id for x in request.values])
        if v.required("narrative", request.narrative):
            v.max_length("narrative", request.narrative, 20000)
        v.done()
        report = await reports.submit_report(
            uow=self.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            values=[ReportedValue(x.target_id, x.value) for x in request.values],
            narrative=request.narrative,
            now=self.clock(),
        )
        return pb.SubmitMonitoringReportResponse(report=report_pb(report))

    async def RecordEvaluation(
        self, request: pb.RecordEvaluationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordEvaluationResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        v.enum_set("grade", request.grade, PB_TO_GRADE)
        v.max_length("comments", request.comments, 20000)
        v.done()
        evaluation = await evaluations.record_evaluation(
            uow=self.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            grade=PB_TO_GRADE[request.grade],
            comments=request.comments,
            now=self.clock(),
        )
        return pb.RecordEvaluationResponse(evaluation=evaluation_pb(evaluation))

    async def GetSupervisionStatus(
        self, request: pb.GetSupervisionStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSupervisionStatusResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        s = await status.supervision_status(uow=self.uow, cycle_id=request.cycle_id)
        return pb.GetSupervisionStatusResponse(awards=s.awards, reported=s.reported, evaluated=s.evaluated)

    async def RecordSupervisionConclusion(
        self, request: pb.RecordSupervisionConclusionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordSupervisionConclusionResponse:
        c = request.conclusion
        v = Check()
        if v.required("conclusion", request.HasField("conclusion")):
            v.identifier("conclusion.cycle_id", c.cycle_id)
            if v.required("conclusion.summary", c.summary):
                v.max_length("conclusion.summary", c.summary, conclusions.MAX_SUMMARY)
            v.identifier("conclusion.concluded_by", c.concluded_by)
            v.max_length("conclusion.concluded_by_name", c.concluded_by_name, 200)
            v.non_negative("conclusion.awards", c.awards)
            v.non_negative("conclusion.evaluated", c.evaluated)
            # concluded_at is the service's clock; a time the caller sends is not taken
        v.done()
        recorded = await conclusions.record_conclusion(
            uow=self.uow,
            cycle_id=c.cycle_id,
            summary=c.summary,
            concluded_by=c.concluded_by,
            concluded_by_name=c.concluded_by_name,
            awards=c.awards,
            evaluated=c.evaluated,
            now=self.clock(),
        )
        return pb.RecordSupervisionConclusionResponse(conclusion=conclusion_pb(recorded))

    async def GetSupervisionConclusion(
        self, request: pb.GetSupervisionConclusionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSupervisionConclusionResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        found = await conclusions.get_conclusion(uow=self.uow, cycle_id=request.cycle_id)
        return pb.GetSupervisionConclusionResponse(conclusion=conclusion_pb(found))
