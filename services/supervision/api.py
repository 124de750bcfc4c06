"""SupervisionService: proto ⇄ domain only."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.errors import AlreadyExists
from aicc.platform.server import Runtime
from aicc.platform.validation import Check
from aicc.supervision.v1 import supervision_pb2 as pb
from aicc.supervision.v1 import supervision_pb2_grpc
from services.supervision.domain import usecases
from services.supervision.store import SupervisionStore

GRADE_TO_PB = {
    "excellent": pb.EVALUATION_GRADE_EXCELLENT,
    "good": pb.EVALUATION_GRADE_GOOD,
    "pass": pb.EVALUATION_GRADE_PASS,
    "fail": pb.EVALUATION_GRADE_FAIL,
}
PB_TO_GRADE = {v: k for k, v in GRADE_TO_PB.items()}


def target_pb(t) -> pb.PerformanceTarget:
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


def report_pb(r) -> pb.MonitoringReport:
    return pb.MonitoringReport(
        report_id=r.report_id,
        cycle_id=r.cycle_id,
        application_id=r.application_id,
        values=[pb.ReportedValue(target_id=v["target_id"], value=v["value"]) for v in r.values],
        narrative=r.narrative,
        submitted_at=ts(r.submitted_at),
    )


def evaluation_pb(e) -> pb.Evaluation:
    return pb.Evaluation(
        evaluation_id=e.evaluation_id,
        cycle_id=e.cycle_id,
        application_id=e.application_id,
        grade=GRADE_TO_PB[e.grade],
        comments=e.comments,
        evaluated_by=e.evaluated_by,
        evaluated_at=ts(e.evaluated_at),
    )


def _non_empty(v: Check, field: str, items) -> None:
    if len(items) == 0:
        v.fail(field, "needs at least one entry", "至少需要一项")


def _unique(v: Check, field: str, values: list[str]) -> None:
    """Names the repeated entry's own field, e.g. ``awards[2].application_id``."""
    seen: set[str] = set()
    for i, x in enumerate(values):
        if x and x in seen:
            v.fail(field.format(i=i), f"duplicate value {x!r}", f"重复值 {x}")
        seen.add(x)


def _city_code(v: Check, field: str, value: str) -> None:
    if v.required(field, value) and (len(value) != 6 or not value.isdigit()):
        v.fail(field, "must be a 6-digit administrative division code", "须为6位行政区划代码")


class SupervisionServicer(supervision_pb2_grpc.SupervisionServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def CreatePerformanceTargets(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if request.awards:  # a cycle may end with no awards; then there is nothing to set targets for
            _non_empty(v, "templates", request.templates)
        for i, a in enumerate(request.awards):
            v.identifier(f"awards[{i}].application_id", a.application_id)
            v.identifier(f"awards[{i}].organization_id", a.organization_id)
            v.positive(f"awards[{i}].amount_fen", a.amount_fen)
            _city_code(v, f"awards[{i}].city_code", a.city_code)
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
        for attempt in (1, 2):
            try:
                async with self.rt.db.transaction() as s:
                    rows = await usecases.create_targets(
                        SupervisionStore(s),
                        cycle_id=request.cycle_id,
                        awards=[
                            usecases.Award(a.application_id, a.organization_id, a.amount_fen, a.city_code)
                            for a in request.awards
                        ],
                        templates=[
                            usecases.Template(t.code, t.description, t.unit, t.target_value)
                            for t in request.templates
                        ],
                    )
                return pb.CreatePerformanceTargetsResponse(targets=[target_pb(t) for t in rows])
            except IntegrityError:  # a concurrent call created them first: answer as a repeat
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def ListPerformanceTargets(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if request.application_id:
            v.identifier("application_id", request.application_id)
        v.done()
        async with self.rt.db.transaction() as s:
            rows = await usecases.list_targets(
                SupervisionStore(s),
                principal(),
                cycle_id=request.cycle_id,
                application_id=request.application_id,
            )
            return pb.ListPerformanceTargetsResponse(targets=[target_pb(t) for t in rows])

    async def SubmitMonitoringReport(self, request, context):
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
        async with self.rt.db.transaction() as s:
            row = await usecases.submit_report(
                SupervisionStore(s),
                principal(),
                cycle_id=request.cycle_id,
                application_id=request.application_id,
                values=[usecases.Value(x.target_id, x.value) for x in request.values],
                narrative=request.narrative,
            )
            return pb.SubmitMonitoringReportResponse(report=report_pb(row))

    async def RecordEvaluation(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        if v.enum_set("grade", request.grade) and request.grade not in PB_TO_GRADE:
            v.fail("grade", "unknown grade", "未知评价等级")
        v.max_length("comments", request.comments, 20000)
        v.done()
        try:
            async with self.rt.db.transaction() as s:
                row = await usecases.record_evaluation(
                    SupervisionStore(s),
                    principal(),
                    cycle_id=request.cycle_id,
                    application_id=request.application_id,
                    grade=PB_TO_GRADE[request.grade],
                    comments=request.comments,
                )
        except IntegrityError:  # a concurrent evaluation of the same award won
            raise AlreadyExists(
                f"award {request.application_id} has been evaluated already",
                f"获奖项目 {request.application_id} 已完成绩效评价",
                reason="EVALUATION_EXISTS",
            ) from None
        return pb.RecordEvaluationResponse(evaluation=evaluation_pb(row))

    async def GetSupervisionStatus(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        async with self.rt.db.transaction() as s:
            awards, reported, evaluated = await usecases.status(
                SupervisionStore(s), cycle_id=request.cycle_id
            )
        return pb.GetSupervisionStatusResponse(awards=awards, reported=reported, evaluated=evaluated)
