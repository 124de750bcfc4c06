"""The whole suite as a user runs it: ``aicc up`` starts the real processes (Temporal dev server,
five services, worker), ``aicc demo`` drives demo years from PUBLISHED to CLOSED, Ctrl-C stops
every process. On SQLite two consecutive years on one running suite (this year's call, then next
year's, funded by next year's appropriation; the programme's rules read back over gRPC across
both years), with traces exported to a real OTLP receiver and the first year's history recorded
by tools/record_history.py; on PostgreSQL one year."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from aicc.cli.demo.province import CREDIT_RECORDS, NEWCOMERS, Demo
from aicc.cli.demo.year import pages
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.clock import beijing_date
from aicc.platform.settings import SERVICES, Settings
from tests.e2e.otlp import Receiver
from tests.support.pg import Databases, server_url
from tests.support.suite import free_port
from workflows.cycle.workflow import CycleWorkflow

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _env(
    data_dir: Path, db_urls: dict[str, str] | None = None, otlp_port: int | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AICC_", "OTEL_"))}
    env.update(
        AICC_DATA_DIR=str(data_dir),
        AICC_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        AICC_TEMPORAL_UI_PORT=str(free_port()),
        AICC_LISTEN_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    for svc in SERVICES:
        port = free_port()
        env[f"AICC_{svc.upper()}_PORT"] = str(port)
        env[f"AICC_{svc.upper()}_ADDRESS"] = f"127.0.0.1:{port}"
        if db_urls:
            env[f"AICC_{svc.upper()}_DATABASE_URL"] = db_urls[svc]
    if otlp_port:
        env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{otlp_port}",
            OTEL_EXPORTER_OTLP_INSECURE="true",
            OTEL_BSP_SCHEDULE_DELAY="200",
        )
    return env


def _aicc(*args: str) -> list[str]:
    return [sys.executable, "-m", "aicc.cli.main", *args]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes only once reaped; check its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def running_suite(tmp_path: Path, env: dict[str, str]) -> Iterator[None]:
    """``aicc up`` → ready → (the body) → Ctrl-C; every process it started is gone afterwards."""
    up_log = tmp_path / "up.log"
    with open(up_log, "w") as log:
        up = subprocess.Popen(_aicc("up"), env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    state_file = Path(env["AICC_DATA_DIR"]) / "suite.json"
    failure = None
    try:
        deadline = time.monotonic() + 120
        while "aicc suite is up" not in up_log.read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("suite did not come up:\n" + up_log.read_text() + _logs(env))
            time.sleep(0.3)
        yield
    except BaseException as e:  # noqa: BLE001 - stop the suite first, then report
        failure = e
    pids = json.loads(state_file.read_text()) if state_file.exists() else {}
    up.send_signal(signal.SIGINT)  # what Ctrl-C does
    up_rc = up.wait(60)
    time.sleep(0.5)
    if failure is not None:
        raise failure
    left = {name: pid for name, pid in pids.items() if _alive(pid)}
    assert set(pids) == {"temporal", *SERVICES, "worker"}, pids
    assert not left, f"processes left behind after Ctrl-C: {left}"
    assert up_rc == 0, f"aicc up exited {up_rc}:\n{up_log.read_text()}"


def demo(env: dict[str, str], years: int = 1) -> str:
    """``aicc demo --years N`` against the running suite; its output."""
    run = subprocess.run(
        _aicc("demo", "--years", str(years)), env=env, capture_output=True, text=True, timeout=300 * years
    )
    out = run.stdout + run.stderr
    if run.returncode != 0:
        raise AssertionError(out + "\n--- logs ---\n" + _logs(env))
    return out


def run_year(tmp_path: Path, env: dict[str, str]) -> str:
    """``aicc up`` → ready → ``aicc demo`` → Ctrl-C; returns the demo's output."""
    with running_suite(tmp_path, env):
        return demo(env)
    raise AssertionError("unreachable")  # the context manager re-raises what the body raised


def _logs(env) -> str:
    d = Path(env["AICC_DATA_DIR"]) / "logs"
    return (
        "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(d.glob("*.log")))
        if d.exists()
        else ""
    )


def _assert_demo_output(out: str) -> None:
    for phase in (
        "PUBLISHED",
        "APPLYING",
        "CITY_REVIEW",
        "COMPLIANCE_REVIEW",
        "EXPERT_REVIEW",
        "PROPOSAL",
        "FINANCE_CONCURRENCE",
        "PARTY_GROUP_APPROVAL",
        "PUBLICITY",
        "ANNOUNCED",
        "DISBURSING",
        "SUPERVISING",
        "CLOSED",
    ):
        assert f"] {phase}" in out, f"phase {phase} not shown:\n{out}"
    assert "Award table" in out, out
    assert "卓越级" in out, out
    assert "先进级" in out, out
    assert "CLOSED in" in out
    # Every decision read back over gRPC, as the auditor, from the service that owns it (issue 9).
    for rpc in (
        "intake.ListRecommendations",
        "review.ListComplianceReviews",
        "funding.ListFinanceConcurrences",
        "intake.ListCycleDecisions",
        "review.ListPublicityNotices",
        "review.ListObjections",
        "review.GetAnnouncement",
        "supervision.GetSupervisionConclusion",
    ):
        assert f"  {rpc} " in out, f"record {rpc} not read back:\n{out}"
    assert "concurred by" in out, out
    assert "approved (" in out, out
    assert "SUBMITTED → RECOMMENDED → COMPLIANT → PROPOSED → AWARDED → PAID" in out, out


def test_two_consecutive_years_on_sqlite_with_a_trace_across_processes(tmp_path, monkeypatch):
    """One running suite: this year's demo cycle to CLOSED, then next year's (issue 9, point 8)."""
    first = beijing_date(datetime.now(UTC)).year
    receiver = Receiver().start()
    env = _env(tmp_path / "data", otlp_port=receiver.port)
    try:
        started = time.monotonic()
        with running_suite(tmp_path, env):
            out = demo(env, years=2)
            years_took = time.monotonic() - started
            for key, value in env.items():  # this process reads the suite as the demo did
                if key.startswith("AICC_"):
                    monkeypatch.setenv(key, value)
            asyncio.run(_check_the_second_year(Settings(), first))
            _record_and_replay_the_first_year(tmp_path, env, f"demo-{first}-1")
        print(f"two demo years on one suite: {years_took:.1f}s wall (suite start included)")
        for year in (first, first + 1):
            _assert_demo_output(
                out.split(f"▶ demo: driving demo-{year}-1")[1].split("CLOSED in")[0] + "CLOSED in"
            )
        for svc in SERVICES:
            assert (tmp_path / "data" / f"{svc}.db").exists(), f"{svc} has no SQLite database of its own"
        time.sleep(1.0)
        spans = receiver.snapshot()
    finally:
        receiver.stop()

    # One trace links the RPC that advanced the cycle, the workflow's activity and the RPC it made.
    rpc = [
        s
        for s in spans
        if s.name.endswith("IntakeService/DecideFinanceConcurrence")
        and s.service == "aicc-intake"
        and s.kind == 2
    ]
    assert rpc, sorted({(s.service, s.name) for s in spans})
    trace = [s for s in spans if s.trace_id == rpc[0].trace_id]
    names = {(s.service, s.name) for s in trace}
    assert any(svc == "aicc-worker" and n == "RunActivity:reserve_funds" for svc, n in names), names
    assert ("aicc-funding", "/aicc.funding.v1.FundingService/ReserveFunds") in names, names
    by_id = {s.span_id: s for s in trace}
    funding = next(s for s in trace if s.name == "/aicc.funding.v1.FundingService/ReserveFunds")
    chain, s = [], funding
    while s is not None:
        chain.append((s.service, s.name))
        s = by_id.get(s.parent_id)
    assert chain[-1] == (rpc[0].service, rpc[0].name), chain  # the funding RPC descends from the decision RPC
    assert any(n.startswith("RunActivity:") for _svc, n in chain), chain


async def _check_the_second_year(settings: Settings, first: int) -> None:
    """What the second year shows, read over gRPC by the auditor: each year drawn from its own
    fiscal year's appropriation; every enterprise awarded in the first year refused in the second
    (Art. 11, one-time award, cited); the three-year credit look-back reaching back into the first
    year (a newcomer with a serious dishonesty record dated in the first year refused); the
    newcomers funded."""
    d = Demo(settings)
    try:
        await d.login("sd.auditor")
        intake, funding = d.stub("sd.auditor", "intake"), d.stub("sd.auditor", "funding")
        apps: dict[int, dict[str, inpb.Application]] = {}
        for year in (first, first + 1):
            cycle_id = f"demo-{year}-1"
            cycle = (await intake.GetCycle(inpb.GetCycleRequest(cycle_id=cycle_id))).cycle
            assert (cycle.phase, cycle.fiscal_year) == (inpb.CYCLE_PHASE_CLOSED, year), cycle
            budget = (await funding.GetBudget(fpb.GetBudgetRequest(cycle_id=cycle_id))).budget
            appropriation = (
                await funding.GetAppropriation(fpb.GetAppropriationRequest(fiscal_year=year))
            ).appropriation
            assert budget.fiscal_year == year, budget
            assert budget.appropriation_id == appropriation.appropriation_id
            assert budget.closed
            # Only this cycle drew on the year's appropriation, net of what it returned at the close.
            assert (
                appropriation.drawn_fen == budget.total_fen - budget.returned_fen == budget.disbursed_fen > 0
            )
            request = inpb.ListApplicationsRequest(cycle_id=cycle_id)
            apps[year] = {
                a.organization_id: a async for a in pages(intake.ListApplications, request, "applications")
            }
        paid = inpb.APPLICATION_STATUS_PAID
        awarded_first = {org for org, a in apps[first].items() if a.status == paid}
        awarded_second = {org for org, a in apps[first + 1].items() if a.status == paid}
        assert len(awarded_first) >= 5, apps[first]
        assert awarded_second, apps[first + 1]
        assert not awarded_first & awarded_second
        newcomers = {a.enterprise_name for a in apps[first + 1].values()} - {
            a.enterprise_name for a in apps[first].values()
        }
        assert newcomers == {name for name, *_rest in NEWCOMERS}
        for org in awarded_first:
            again = apps[first + 1][org]
            assert again.status == inpb.APPLICATION_STATUS_INELIGIBLE, again
            (found,) = [f for f in again.eligibility_failures if f.rule == "earlier_award"]
            assert (found.article, found.flag_only) == ("Art. 11", False)
            assert "第十一条" in found.message_zh
            assert f"demo-{first}-1" in found.message_zh
        # The newcomer whose record dates from the first year: refused for it in the second.
        by_name = {a.enterprise_name: a for a in apps[first + 1].values()}
        (late,) = [n for n, *_rest in NEWCOMERS if n in CREDIT_RECORDS]
        start_date, reference = CREDIT_RECORDS[late]
        assert start_date.startswith(str(first))
        refused = by_name[late]
        assert refused.status == inpb.APPLICATION_STATUS_INELIGIBLE
        assert [f.rule for f in refused.eligibility_failures] == ["no_serious_dishonesty"]
        assert reference in refused.eligibility_failures[0].message_zh
        assert start_date in refused.eligibility_failures[0].message
    finally:
        await d.close()


def _record_and_replay_the_first_year(tmp_path: Path, env: dict[str, str], cycle_id: str) -> None:
    """tools/record_history.py on the running suite: the year's history, payloads decoded, replays
    on the current workflow without a codec (how tests/workflow/histories/v3-demo-year.json was made)."""
    out = tmp_path / "history.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "record_history.py"), "--cycle", cycle_id, "--out", str(out)],
        env={**env, "AICC_DEV_MODE": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    text = out.read_text(encoding="utf-8")
    assert "sm4-gcm" not in text  # every sealed payload opened
    history = WorkflowHistory.from_json("replay-recorded", text)
    result = asyncio.run(Replayer(workflows=[CycleWorkflow]).replay_workflow(history))
    assert result.replay_failure is None


@pytest.mark.postgres
def test_demo_year_on_postgresql(tmp_path):
    dbs = Databases(server_url(), SERVICES)
    try:
        out = run_year(tmp_path, _env(tmp_path / "data", db_urls=dbs.urls))
        _assert_demo_output(out)
        from sqlalchemy.engine import make_url

        u = make_url(dbs.urls["intake"])
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database) as conn:
            phase = conn.execute("SELECT phase FROM cycles").fetchone()[0]
        assert phase == "CLOSED"
        assert not (tmp_path / "data" / "intake.db").exists()
    finally:
        dbs.close()
