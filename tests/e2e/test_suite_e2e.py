"""The whole suite as a user runs it: ``aicc up`` starts the real processes (Temporal dev server,
five services, worker), ``aicc demo`` drives a demo year from PUBLISHED to CLOSED, Ctrl-C stops
every process. Once on SQLite (with traces exported to a real OTLP receiver), once on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from aicc.platform.settings import SERVICES
from tests.e2e.otlp import Receiver
from tests.support.pg import Databases, server_url
from tests.support.suite import free_port

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


def run_year(tmp_path: Path, env: dict[str, str]) -> str:
    """``aicc up`` → ready → ``aicc demo`` → Ctrl-C; returns the demo's output."""
    up_log = tmp_path / "up.log"
    with open(up_log, "w") as log:
        up = subprocess.Popen(_aicc("up"), env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    state_file = Path(env["AICC_DATA_DIR"]) / "suite.json"
    out, failure = "", None
    try:
        deadline = time.monotonic() + 120
        while "aicc suite is up" not in up_log.read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("suite did not come up:\n" + up_log.read_text() + _logs(env))
            time.sleep(0.3)
        demo = subprocess.run(_aicc("demo"), env=env, capture_output=True, text=True, timeout=400)
        out = demo.stdout + demo.stderr
        if demo.returncode != 0:
            raise AssertionError(out + "\n--- logs ---\n" + _logs(env))
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
    return out


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


def test_demo_year_on_sqlite_with_a_trace_across_processes(tmp_path):
    receiver = Receiver().start()
    try:
        out = run_year(tmp_path, _env(tmp_path / "data", otlp_port=receiver.port))
        _assert_demo_output(out)
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
