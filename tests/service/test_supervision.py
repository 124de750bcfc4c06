"""Supervision over gRPC (identity + supervision in process): targets, monitoring reports, evaluations,
the supervision conclusion."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.engine import make_url

from aicc.supervision.v1 import supervision_pb2 as pb
from tests.support.seed import create_users, enterprise, error_of
from tests.support.suite import InProcessSuite, suite_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAN = 1_000_000
PW = "a-long-password-for-tests"
QINGDAO, JINAN = "370200", "370100"
TEMPLATES = [
    pb.TargetTemplate(
        code="firms_served", description="Firms served (Annex 3.1)", unit="firms", target_value="50"
    ),
    pb.TargetTemplate(
        code="models", description="Industry models deployed (Annex 2.3)", unit="models", target_value="3"
    ),
]


@dataclass
class World:
    suite: InProcessSuite
    system: object
    org_a: str
    org_b: str
    tokens: dict[str, str]
    cycle: str = ""

    async def as_user(self, username: str):
        if username not in self.tokens:
            self.tokens[username] = await self.suite.login(username, PW)
        return self.suite.stub("supervision", self.tokens[username])

    def awards(self) -> list[pb.AwardRef]:
        return [
            pb.AwardRef(
                application_id="app-1", organization_id=self.org_a, amount_fen=200 * WAN, city_code=QINGDAO
            ),
            pb.AwardRef(
                application_id="app-2", organization_id=self.org_b, amount_fen=100 * WAN, city_code=JINAN
            ),
        ]

    async def create_targets(self) -> list[pb.PerformanceTarget]:
        resp = await self.system.CreatePerformanceTargets(
            pb.CreatePerformanceTargetsRequest(cycle_id=self.cycle, awards=self.awards(), templates=TEMPLATES)
        )
        return list(resp.targets)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory):
    settings = suite_settings(tmp_path_factory.mktemp("supervision"))
    async with InProcessSuite(settings, services=["identity", "supervision"]) as suite:
        ident = await suite.admin()
        org_a = await enterprise(ident, "370212", 11, "青岛工业智能中心有限公司")
        org_b = await enterprise(ident, "370102", 12, "济南智造赋能有限公司")
        await create_users(
            ident,
            PW,
            [
                ("app-a", ["applicant"], org_a, ""),
                ("app-b", ["applicant"], org_b, ""),
                ("qd-industry", ["city_industry"], "", QINGDAO),
                ("prov-industry", ["province_industry"], "", ""),
                ("auditor-1", ["auditor"], "", ""),
            ],
        )
        system = suite.stub("supervision", await suite.worker_token())
        yield World(suite, system, org_a, org_b, {})


@pytest.fixture
def world(shared: World, request) -> World:
    shared.cycle = "cyc-" + request.node.name.removeprefix("test_")[:100]
    return shared


async def test_happy_path_targets_report_evaluation(world: World) -> None:
    w = world
    targets = await w.create_targets()
    assert len(targets) == 4
    assert {(t.application_id, t.code) for t in targets} == {
        (a, c) for a in ("app-1", "app-2") for c in ("firms_served", "models")
    }
    assert all(t.reported_value == "" and t.cycle_id == w.cycle for t in targets)
    again = await w.create_targets()  # idempotent
    assert {t.target_id for t in again} == {t.target_id for t in targets}

    status = await w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle))
    assert (status.awards, status.reported, status.evaluated) == (2, 0, 0)

    applicant = await w.as_user("app-a")
    own = (await applicant.ListPerformanceTargets(pb.ListPerformanceTargetsRequest(cycle_id=w.cycle))).targets
    assert {t.application_id for t in own} == {"app-1"}
    assert len(own) == 2
    firms = next(t for t in own if t.code == "firms_served")
    report = (
        await applicant.SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(
                cycle_id=w.cycle,
                application_id="app-1",
                values=[pb.ReportedValue(target_id=firms.target_id, value="38")],
                narrative="上半年服务企业38家，算力平台已上线。",
            )
        )
    ).report
    assert report.report_id
    assert [(v.target_id, v.value) for v in report.values] == [(firms.target_id, "38")]
    own = (
        await applicant.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, application_id="app-1")
        )
    ).targets
    assert {t.code: t.reported_value for t in own} == {"firms_served": "38", "models": ""}

    prov = await w.as_user("prov-industry")
    ev = (
        await prov.RecordEvaluation(
            pb.RecordEvaluationRequest(
                cycle_id=w.cycle,
                application_id="app-1",
                grade=pb.EVALUATION_GRADE_GOOD,
                comments="进度符合预期",
            )
        )
    ).evaluation
    assert ev.grade == pb.EVALUATION_GRADE_GOOD
    assert ev.evaluated_by
    status = await w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle))
    assert (status.awards, status.reported, status.evaluated) == (2, 1, 1)

    err = await error_of(
        prov.RecordEvaluation(
            pb.RecordEvaluationRequest(
                cycle_id=w.cycle, application_id="app-1", grade=pb.EVALUATION_GRADE_EXCELLENT
            )
        )
    )
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert err.message_zh


async def test_who_sees_which_targets(world: World) -> None:
    w = world
    await w.create_targets()

    async def seen(username: str, application_id: str = "") -> set[str]:
        stub = await w.as_user(username)
        resp = await stub.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, application_id=application_id)
        )
        return {t.application_id for t in resp.targets}

    assert await seen("app-a") == {"app-1"}
    assert await seen("app-b") == {"app-2"}
    assert await seen("qd-industry") == {"app-1"}
    assert await seen("prov-industry") == {"app-1", "app-2"}
    # Another organisation's (or city's) award is indistinguishable from a missing one.
    app_a = await w.as_user("app-a")
    qd = await w.as_user("qd-industry")
    for stub in (app_a, qd):
        err = await error_of(
            stub.ListPerformanceTargets(
                pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, application_id="app-2")
            )
        )
        assert err.code == grpc.StatusCode.NOT_FOUND
    # The supervision overview is for the province.
    err = await error_of(app_a.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle)))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


async def test_only_the_recipient_reports(world: World) -> None:
    w = world
    targets = await w.create_targets()
    t1 = next(t for t in targets if t.application_id == "app-1")
    req = pb.SubmitMonitoringReportRequest(
        cycle_id=w.cycle,
        application_id="app-1",
        values=[pb.ReportedValue(target_id=t1.target_id, value="1")],
        narrative="x",
    )
    err = await error_of((await w.as_user("app-b")).SubmitMonitoringReport(req))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = await error_of((await w.as_user("qd-industry")).SubmitMonitoringReport(req))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await error_of(
        (await w.as_user("app-a")).RecordEvaluation(
            pb.RecordEvaluationRequest(
                cycle_id=w.cycle, application_id="app-1", grade=pb.EVALUATION_GRADE_PASS
            )
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await error_of(
        (await w.as_user("prov-industry")).CreatePerformanceTargets(
            pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle, awards=w.awards(), templates=TEMPLATES)
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    status = await w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle))
    assert status.reported == 0


async def test_invalid_arguments_name_each_field(world: World) -> None:
    w = world
    targets = await w.create_targets()
    t1 = next(t for t in targets if t.application_id == "app-1")
    t2 = next(t for t in targets if t.application_id == "app-2")
    app_a = await w.as_user("app-a")

    err = await error_of(
        app_a.SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(
                cycle_id=w.cycle,
                application_id="app-1",
                values=[
                    pb.ReportedValue(target_id=t1.target_id, value="5"),
                    pb.ReportedValue(target_id=t2.target_id, value="9"),
                ],
                narrative="ok",
            )
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["values[1].target_id"]
    assert "app-1" in err.violations[0].description
    assert err.violations[0].description_zh

    err = await error_of(
        app_a.SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(
                cycle_id=w.cycle,
                application_id="app-1",
                values=[
                    pb.ReportedValue(target_id=t1.target_id, value=""),
                    pb.ReportedValue(target_id=t1.target_id, value="2"),
                ],
            )
        )
    )
    assert {v.field for v in err.violations} == {"values[0].value", "values[1].target_id", "narrative"}
    err = await error_of(
        app_a.SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(cycle_id=w.cycle, application_id="app-1", narrative="n")
        )
    )
    assert {v.field for v in err.violations} == {"values"}
    # nothing was stored by the refused reports
    listed = (await app_a.ListPerformanceTargets(pb.ListPerformanceTargetsRequest(cycle_id=w.cycle))).targets
    assert all(t.reported_value == "" for t in listed)

    prov = await w.as_user("prov-industry")
    err = await error_of(
        prov.RecordEvaluation(pb.RecordEvaluationRequest(cycle_id=w.cycle, application_id="app-1"))
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["grade"]

    awards = w.awards()
    awards[1].application_id = "app-1"
    awards[0].amount_fen = 0
    awards[0].city_code = ""
    err = await error_of(
        w.system.CreatePerformanceTargets(
            pb.CreatePerformanceTargetsRequest(
                cycle_id=w.cycle,
                awards=awards,
                templates=[
                    pb.TargetTemplate(code="a", description="d", target_value=""),
                    pb.TargetTemplate(code="a", description="", target_value="1"),
                ],
            )
        )
    )
    assert {v.field for v in err.violations} == {
        "awards[0].amount_fen",
        "awards[0].city_code",
        "awards[1].application_id",
        "templates[0].target_value",
        "templates[1].code",
        "templates[1].description",
    }
    err = await error_of(
        w.system.CreatePerformanceTargets(
            pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle, awards=w.awards())
        )
    )
    assert {v.field for v in err.violations} == {"templates"}


async def test_a_cycle_without_awards_is_known_and_empty(world: World) -> None:
    w = world
    resp = await w.system.CreatePerformanceTargets(pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle))
    assert list(resp.targets) == []
    status = await w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle))
    assert (status.awards, status.reported, status.evaluated) == (0, 0, 0)
    prov = await w.as_user("prov-industry")
    assert (
        list((await prov.ListPerformanceTargets(pb.ListPerformanceTargetsRequest(cycle_id=w.cycle))).targets)
        == []
    )


async def test_unknown_cycle_or_award_is_not_found(world: World) -> None:
    w = world
    prov = await w.as_user("prov-industry")
    app_a = await w.as_user("app-a")
    for call in (
        w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle)),
        prov.ListPerformanceTargets(pb.ListPerformanceTargetsRequest(cycle_id=w.cycle)),
    ):
        assert (await error_of(call)).code == grpc.StatusCode.NOT_FOUND
    await w.create_targets()
    for call in (
        prov.RecordEvaluation(
            pb.RecordEvaluationRequest(
                cycle_id=w.cycle, application_id="app-9", grade=pb.EVALUATION_GRADE_PASS
            )
        ),
        prov.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, application_id="app-9")
        ),
        app_a.SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(
                cycle_id=w.cycle,
                application_id="app-9",
                values=[pb.ReportedValue(target_id="tgt_x", value="1")],
                narrative="n",
            )
        ),
    ):
        err = await error_of(call)
        assert err.code == grpc.StatusCode.NOT_FOUND
        assert err.reason == "AWARD_NOT_FOUND"


async def test_evaluation_needs_a_monitoring_report(world: World) -> None:
    w = world
    await w.create_targets()
    prov = await w.as_user("prov-industry")
    err = await error_of(
        prov.RecordEvaluation(
            pb.RecordEvaluationRequest(
                cycle_id=w.cycle, application_id="app-2", grade=pb.EVALUATION_GRADE_FAIL
            )
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NO_MONITORING_REPORT"
    status = await w.system.GetSupervisionStatus(pb.GetSupervisionStatusRequest(cycle_id=w.cycle))
    assert status.evaluated == 0


async def test_targets_conflict_when_an_award_changes(world: World) -> None:
    w = world
    await w.create_targets()
    awards = w.awards()
    awards[0].amount_fen = 150 * WAN
    err = await error_of(
        w.system.CreatePerformanceTargets(
            pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle, awards=awards, templates=TEMPLATES)
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "AWARD_CONFLICT"
    # a new template adds a target per award, keeping the old ones
    more = [
        *TEMPLATES,
        pb.TargetTemplate(code="patents", description="Patents (Annex 3.3)", unit="items", target_value="5"),
    ]
    resp = await w.system.CreatePerformanceTargets(
        pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle, awards=w.awards(), templates=more)
    )
    assert len(resp.targets) == 6


def _moved_back(token: str) -> str:
    """``token`` with its cursor (application_id, code, target_id) moved back to code k000, its seal kept."""
    doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert doc["c"][1] != "k000"
    doc["c"][1] = "k000"
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


async def test_targets_are_listed_in_pages(world: World) -> None:
    w = world
    # 3 awards × 170 templates: more targets than the largest page.
    awards = [
        *w.awards(),
        pb.AwardRef(application_id="app-3", organization_id=w.org_a, amount_fen=50 * WAN, city_code=QINGDAO),
    ]
    templates = [
        pb.TargetTemplate(code=f"k{i:03d}", description=f"indicator {i}", unit="items", target_value="1")
        for i in range(170)
    ]
    created = await w.system.CreatePerformanceTargets(
        pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle, awards=awards, templates=templates)
    )
    assert len(created.targets) == 510
    in_order = sorted(created.targets, key=lambda t: (t.application_id, t.code))

    async def pages(username: str, page_size: int, application_id: str = "") -> list[list[str]]:
        stub = await w.as_user(username)
        out, token = [], ""
        while True:
            resp = await stub.ListPerformanceTargets(
                pb.ListPerformanceTargetsRequest(
                    cycle_id=w.cycle, application_id=application_id, page_size=page_size, page_token=token
                )
            )
            out.append([t.target_id for t in resp.targets])
            token = resp.next_page_token
            if not token:
                return out

    # every target exactly once, in (application, code) order, whatever the page size
    prov = await pages("prov-industry", 37)
    assert [len(p) for p in prov] == [37] * 13 + [510 - 37 * 13]
    assert [t for p in prov for t in p] == [t.target_id for t in in_order]
    # default 50; more than the maximum is read as 500
    assert [len(p) for p in await pages("prov-industry", 0)] == [50] * 10 + [10]
    assert [len(p) for p in await pages("prov-industry", 100_000)] == [500, 10]
    # paging keeps who sees what: the applicant its own organisation's awards, the city its own
    own = {t.target_id for t in in_order if t.application_id in ("app-1", "app-3")}
    app_a = await pages("app-a", 100)
    assert [len(p) for p in app_a] == [100, 100, 100, 40]
    assert {t for p in app_a for t in p} == own
    qd = await pages("qd-industry", 60, application_id="app-1")
    assert {t for p in qd for t in p} == {t.target_id for t in in_order if t.application_id == "app-1"}
    err = await error_of(
        (await w.as_user("app-b")).ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, application_id="app-1", page_size=10)
        )
    )
    assert err.code == grpc.StatusCode.NOT_FOUND

    first = await (await w.as_user("prov-industry")).ListPerformanceTargets(
        pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=10)
    )
    token = first.next_page_token
    assert token
    prov_stub = await w.as_user("prov-industry")
    refused = [
        # another caller's token
        (await w.as_user("qd-industry")).ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=10, page_token=token)
        ),
        # the same caller with another filter
        prov_stub.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(
                cycle_id=w.cycle, application_id="app-1", page_size=10, page_token=token
            )
        ),
        # an altered token: another cursor under the same seal, or not a token at all
        prov_stub.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=10, page_token=_moved_back(token))
        ),
        prov_stub.ListPerformanceTargets(
            pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=10, page_token="not-a-token")
        ),
    ]
    for call in refused:
        err = await error_of(call)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in err.violations] == ["page_token"]
        assert err.violations[0].description_zh
    # the same token, same caller and filter: the next page (a page size may change between pages)
    again = await prov_stub.ListPerformanceTargets(
        pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=5, page_token=token)
    )
    assert [t.target_id for t in again.targets] == [t.target_id for t in in_order[10:15]]
    err = await error_of(
        prov_stub.ListPerformanceTargets(pb.ListPerformanceTargetsRequest(cycle_id=w.cycle, page_size=-1))
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["page_size"]


# ---------------------------------------------------------------- the supervision conclusion

SU = "/aicc.supervision.v1.SupervisionService/"


def _conclusion(
    cycle_id: str, summary: str = "年度绩效评价完成，两个项目均达到预期。", **kw
) -> pb.SupervisionConclusion:
    values = {"concluded_by": "usr_prov", "concluded_by_name": "省工信厅 张处长", "awards": 2, "evaluated": 2}
    values.update(kw)
    return pb.SupervisionConclusion(cycle_id=cycle_id, summary=summary, **values)


async def _evaluate_all(w: World) -> None:
    """Both awards reported by their recipients and evaluated by the province."""
    targets = await w.create_targets()
    prov = await w.as_user("prov-industry")
    for username, app in (("app-a", "app-1"), ("app-b", "app-2")):
        target = next(t for t in targets if t.application_id == app)
        await (await w.as_user(username)).SubmitMonitoringReport(
            pb.SubmitMonitoringReportRequest(
                cycle_id=w.cycle,
                application_id=app,
                values=[pb.ReportedValue(target_id=target.target_id, value="50")],
                narrative="全年目标完成。",
            )
        )
        await prov.RecordEvaluation(
            pb.RecordEvaluationRequest(cycle_id=w.cycle, application_id=app, grade=pb.EVALUATION_GRADE_GOOD)
        )


def _audit_rows(w: World, action: str) -> list[dict]:
    path = make_url(w.suite.settings.database_url("supervision")).database
    with sqlite3.connect(str(path)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM audit_log WHERE action = ? ORDER BY seq", (SU + action,))
        return [dict(r) for r in rows]


async def test_supervision_conclusion_is_recorded_once_and_read_back(world: World) -> None:
    w = world
    record = w.system.RecordSupervisionConclusion
    prov = await w.as_user("prov-industry")
    await w.create_targets()
    # not before every award is evaluated, and nothing to read yet
    err = await error_of(record(pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle))))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NOT_ALL_EVALUATED"
    assert err.message_zh
    err = await error_of(prov.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest(cycle_id=w.cycle)))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert err.reason == "SUPERVISION_CONCLUSION_NOT_FOUND"

    await _evaluate_all(w)
    # the counts the concluder saw must be supervision's own
    err = await error_of(
        record(pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle, awards=3, evaluated=3)))
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "COUNTS_DIFFER"
    assert err.metadata["awards"] == "2"

    # the time is the server's: a time the caller sends is not taken
    sent = _conclusion(w.cycle)
    sent.concluded_at.CopyFrom(Timestamp(seconds=978_307_200))  # 2001-01-01
    before = datetime.now(UTC)
    first = (await record(pb.RecordSupervisionConclusionRequest(conclusion=sent))).conclusion
    after = datetime.now(UTC)
    assert before <= first.concluded_at.ToDatetime(tzinfo=UTC) <= after
    assert (first.cycle_id, first.summary, first.concluded_by, first.concluded_by_name) == (
        w.cycle,
        sent.summary,
        "usr_prov",
        "省工信厅 张处长",
    )
    assert (first.awards, first.evaluated) == (2, 2)

    # the same conclusion again (a retried activity) answers the stored record
    again = (await record(pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle)))).conclusion
    assert again == first
    # another conclusion for the same cycle is refused, and the first stays
    for other in (
        _conclusion(w.cycle, summary="改写的结论"),
        _conclusion(w.cycle, concluded_by="usr_other"),
    ):
        err = await error_of(record(pb.RecordSupervisionConclusionRequest(conclusion=other)))
        assert err.code == grpc.StatusCode.ALREADY_EXISTS
        assert err.reason == "CONCLUSION_EXISTS"
        assert err.message_zh

    # province readers and the auditor read it; the applicant and the city do not
    for username in ("prov-industry", "auditor-1"):
        stub = await w.as_user(username)
        got = (
            await stub.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest(cycle_id=w.cycle))
        ).conclusion
        assert got == first
    for username in ("app-a", "qd-industry"):
        stub = await w.as_user(username)
        err = await error_of(
            stub.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest(cycle_id=w.cycle))
        )
        assert err.code == grpc.StatusCode.PERMISSION_DENIED
    # only the workflow (system) records it: not even province industry directly
    err = await error_of(
        prov.RecordSupervisionConclusion(
            pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle, summary="越权结论"))
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED

    # every attempt is in supervision's audit chain, under the cycle's id, with its outcome
    rows = [r for r in _audit_rows(w, "RecordSupervisionConclusion") if r["object_id"] == w.cycle]
    assert [r["outcome"] for r in rows] == [
        "FAILED_PRECONDITION",
        "FAILED_PRECONDITION",
        "OK",
        "OK",
        "ALREADY_EXISTS",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
    ]
    assert {r["roles"] for r in rows[:-1]} == {"system"}
    assert rows[-1]["roles"] == "province_industry"


async def test_supervision_conclusion_of_a_cycle_without_awards(world: World) -> None:
    w = world
    await w.system.CreatePerformanceTargets(pb.CreatePerformanceTargetsRequest(cycle_id=w.cycle))
    recorded = (
        await w.system.RecordSupervisionConclusion(
            pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle, awards=0, evaluated=0))
        )
    ).conclusion
    assert (recorded.awards, recorded.evaluated) == (0, 0)
    got = await w.system.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest(cycle_id=w.cycle))
    assert got.conclusion == recorded


async def test_concurrent_records_of_one_conclusion_agree(world: World) -> None:
    w = world
    await _evaluate_all(w)
    req = pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle))
    answers = await asyncio.gather(*(w.system.RecordSupervisionConclusion(req) for _ in range(4)))
    assert len({a.conclusion.SerializeToString() for a in answers}) == 1


async def test_supervision_conclusion_requests_are_validated(world: World) -> None:
    w = world
    record = w.system.RecordSupervisionConclusion
    err = await error_of(record(pb.RecordSupervisionConclusionRequest()))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["conclusion"]
    err = await error_of(
        record(
            pb.RecordSupervisionConclusionRequest(
                conclusion=pb.SupervisionConclusion(
                    cycle_id="not a cycle id!",
                    summary="   ",
                    awards=-1,
                    evaluated=-1,
                )
            )
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {
        "conclusion.cycle_id",
        "conclusion.summary",
        "conclusion.concluded_by",
        "conclusion.awards",
        "conclusion.evaluated",
    }
    assert all(v.description_zh for v in err.violations)
    # A name beyond its length is refused by the request guard before the handler (issue 10).
    err = await error_of(
        record(
            pb.RecordSupervisionConclusionRequest(
                conclusion=_conclusion(w.cycle, concluded_by_name="名" * 201)
            )
        )
    )
    assert [v.field for v in err.violations] == ["conclusion.concluded_by_name"]
    err = await error_of(
        record(pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle, summary="长" * 20001)))
    )
    assert [v.field for v in err.violations] == ["conclusion.summary"]
    err = await error_of(w.system.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest()))
    assert [v.field for v in err.violations] == ["cycle_id"]
    # a cycle not under supervision: nothing to conclude, nothing to read
    for call in (
        record(pb.RecordSupervisionConclusionRequest(conclusion=_conclusion(w.cycle))),
        w.system.GetSupervisionConclusion(pb.GetSupervisionConclusionRequest(cycle_id=w.cycle)),
    ):
        err = await error_of(call)
        assert err.code == grpc.StatusCode.NOT_FOUND
        assert err.reason == "SUPERVISED_CYCLE_NOT_FOUND"
