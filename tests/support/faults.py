"""Fault injection for end-to-end tests: the suite as a user runs it (``aicc up`` and ``aicc demo``
as real processes) and the real faults a province's operators see — a process killed with SIGKILL,
a database that stops taking writes, the demo driver itself killed mid-year.

- :class:`Suite`: ``aicc up`` in a data directory of its own, on free ports (PostgreSQL databases
  when given URLs); :meth:`Suite.kill` SIGKILLs a child named in ``data_dir/suite.json`` (the pid
  file ``aicc up`` rewrites on each restart) and waits for ``aicc up`` to restart it.
- :class:`Reader`: what an auditor reads over gRPC (``sd.auditor``, a province reader the demo seeds
  and never uses itself, so its one-time TOTP codes are the test's own): the cycle's phase, the
  proposal, the budget, the disbursements, the ledger.
- :func:`read_only`: ``ALTER DATABASE … SET default_transaction_read_only = on`` and every session
  of that database terminated — the service's next write fails as on a read-only volume — until
  the block ends.
- :func:`year_outcome`: what a closed year decided and paid, read over gRPC and from the fake
  treasury's own order file, and :func:`assert_paid_exactly_once` over it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psycopg
from sqlalchemy.engine import make_url

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.funding.v1 import funding_pb2_grpc
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.identity.v1 import identity_pb2_grpc
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.intake.v1 import intake_pb2_grpc
from aicc.platform.settings import SERVICES
from aicc.review.v1 import review_pb2 as rpb
from aicc.review.v1 import review_pb2_grpc
from services.identity.domain import second_factor
from tests.support.suite import free_port

# The phases of a year in the order they are entered (a year without a return to PROPOSAL).
PHASES = (
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
)
CHILDREN = {"temporal", *SERVICES, "worker"}


def aicc(*args: str) -> list[str]:
    return [sys.executable, "-m", "aicc.cli.main", *args]


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def suite_env(data_dir: Path, db_urls: dict[str, str] | None = None) -> dict[str, str]:
    """``aicc up``'s environment: its own data directory, free ports, optionally PostgreSQL."""
    ports: list[int] = []
    while len(ports) < len(SERVICES) + 2:  # free now, and not handed out twice
        if (port := free_port()) not in ports:
            ports.append(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AICC_", "OTEL_"))}
    env.update(
        AICC_DATA_DIR=str(data_dir),
        AICC_TEMPORAL_ADDRESS=f"127.0.0.1:{ports.pop()}",
        AICC_TEMPORAL_UI_PORT=str(ports.pop()),
        AICC_LISTEN_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    for svc in SERVICES:
        port = ports.pop()
        env[f"AICC_{svc.upper()}_PORT"] = str(port)
        env[f"AICC_{svc.upper()}_ADDRESS"] = f"127.0.0.1:{port}"
        if db_urls:
            env[f"AICC_{svc.upper()}_DATABASE_URL"] = db_urls[svc]
    return env


class Suite:
    """``aicc up`` as a real process tree, stopped with Ctrl-C (SIGINT) at :meth:`stop`."""

    def __init__(self, root: Path, db_urls: dict[str, str] | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.env = suite_env(self.data, db_urls)
        self.up_log = root / "up.log"
        self.up: subprocess.Popen | None = None
        self.demos: list[Path] = []

    def __enter__(self) -> Suite:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.up_log, "w") as log:
            self.up = subprocess.Popen(aicc("up"), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while "aicc suite is up" not in self.up_log.read_text():
            if self.up.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("suite did not come up:\n" + self.report())
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        """Ctrl-C; every child must be gone afterwards."""
        if self.up is None:
            return 0
        pids = self.pids()
        if self.up.poll() is None:
            self.up.send_signal(signal.SIGINT)
        rc = self.up.wait(60)
        self.up = None
        deadline = time.monotonic() + 5
        while any(alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {n: p for n, p in pids.items() if alive(p)}
        assert not left, f"processes left behind after Ctrl-C: {left}"
        return rc

    def address(self, service: str) -> str:
        return self.env[f"AICC_{service.upper()}_ADDRESS"]

    def pids(self) -> dict[str, int]:
        path = self.data / "suite.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def kill(self, name: str, *, within: float = 30) -> tuple[int, int]:
        """SIGKILLs the child ``name``; returns (old pid, new pid) once ``aicc up`` restarted it."""
        assert self.up is not None, "aicc up was not started"
        assert self.up.poll() is None, "aicc up is not running"
        old = self.pids()[name]
        assert alive(old), f"{name} ({old}) is not running before the kill"
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            new = self.pids().get(name, old)
            if new != old and alive(new):
                return old, new
            time.sleep(0.1)
        raise AssertionError(f"{name} was not restarted within {within:.0f}s:\n{self.report()}")

    def demo(self) -> subprocess.Popen:
        """``aicc demo`` in the background, its output in demo-<n>.log."""
        out = self.root / f"demo-{len(self.demos) + 1}.log"
        self.demos.append(out)
        with open(out, "w") as log:
            return subprocess.Popen(aicc("demo"), env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def demo_output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in self.demos)

    def report(self) -> str:
        """aicc up's output, the demo runs and the tail of every child's log (for a failure)."""
        logs = self.data / "logs"
        tails = (
            "\n".join(
                f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(logs.glob("*.log"))
            )
            if logs.exists()
            else ""
        )
        return f"--- up.log\n{self.up_log.read_text()}\n{self.demo_output()}\n{tails}"


def finish(demo: subprocess.Popen, suite: Suite, *, within: float = 300) -> None:
    """Waits for ``aicc demo`` to exit 0 (the cycle CLOSED)."""
    try:
        rc = demo.wait(within)
    except subprocess.TimeoutExpired:
        demo.kill()
        raise AssertionError("aicc demo did not finish:\n" + suite.report()) from None
    assert rc == 0, f"aicc demo exited {rc}:\n{suite.report()}"


# ---------------------------------------------------------------------- reading as an auditor


class Reader:
    """Reads as ``sd.auditor`` (password and TOTP secret from the demo's dev files)."""

    USER = "sd.auditor"

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self._channels: dict[str, grpc.Channel] = {}
        self._token = ""

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()

    def _channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.insecure_channel(self.suite.address(service))
        return self._channels[service]

    def login(self, *, within: float = 60) -> None:
        """Once the demo has seeded the auditor's account."""
        secrets = self.suite.data / "secrets"
        deadline = time.monotonic() + within
        while True:
            totp = secrets / "demo-totp.json"
            secret = json.loads(totp.read_text())["secrets"].get(self.USER) if totp.exists() else None
            if secret:
                break
            if time.monotonic() > deadline:
                raise AssertionError("the demo did not seed sd.auditor:\n" + self.suite.report())
            time.sleep(0.2)
        password = (secrets / "demo-password").read_text().strip() + "-Aa1"
        code = second_factor.code_at_step(secret, second_factor.step_at(datetime.now(UTC)))
        stub = identity_pb2_grpc.IdentityServiceStub(self._channel("identity"))
        resp = stub.Login(ipb.LoginRequest(username=self.USER, password=password, totp_code=code), timeout=15)
        self._token = resp.access_token

    def _md(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self._token}")]

    def cycle(self, cycle_id: str) -> inpb.Cycle | None:
        stub = intake_pb2_grpc.IntakeServiceStub(self._channel("intake"))
        try:
            req = inpb.GetCycleRequest(cycle_id=cycle_id)
            return stub.GetCycle(req, metadata=self._md(), timeout=10).cycle
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                return None
            raise

    def cycles(self) -> list[inpb.Cycle]:
        stub = intake_pb2_grpc.IntakeServiceStub(self._channel("intake"))
        req = inpb.ListCyclesRequest(page_size=500)
        return list(stub.ListCycles(req, metadata=self._md(), timeout=10).cycles)

    def phase(self, cycle_id: str) -> str:
        c = self.cycle(cycle_id)
        return "" if c is None else inpb.CyclePhase.Name(c.phase).removeprefix("CYCLE_PHASE_")

    def wait_phase(self, cycle_id: str, *phases: str, within: float = 180) -> str:
        """Polls (every 200 ms: each read is a query the worker answers) until the cycle is in one of ``phases``; a phase beyond all of them
        fails the test (the fault would land in the wrong place)."""
        last = max(PHASES.index(p) for p in phases)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            now = self.phase(cycle_id)
            if now in phases:
                return now
            if now and PHASES.index(now) > last:
                raise AssertionError(f"cycle {cycle_id} passed {phases} (now {now})")
            time.sleep(0.2)
        raise AssertionError(
            f"cycle {cycle_id} did not reach {phases} (in {self.phase(cycle_id)}):\n{self.suite.report()}"
        )

    def proposal(self, cycle_id: str) -> rpb.Proposal:
        stub = review_pb2_grpc.ReviewServiceStub(self._channel("review"))
        req = rpb.GetProposalRequest(cycle_id=cycle_id)
        return stub.GetProposal(req, metadata=self._md(), timeout=10).proposal

    def budget(self, cycle_id: str) -> fpb.Budget:
        stub = funding_pb2_grpc.FundingServiceStub(self._channel("funding"))
        req = fpb.GetBudgetRequest(cycle_id=cycle_id)
        return stub.GetBudget(req, metadata=self._md(), timeout=10).budget

    def disbursements(self, cycle_id: str) -> list[fpb.Disbursement]:
        stub = funding_pb2_grpc.FundingServiceStub(self._channel("funding"))
        out: list[fpb.Disbursement] = []
        req = fpb.ListDisbursementsRequest(cycle_id=cycle_id, page_size=500)
        while True:
            page = stub.ListDisbursements(req, metadata=self._md(), timeout=10)
            out.extend(page.disbursements)
            if not page.next_page_token:
                return out
            req.page_token = page.next_page_token

    def ledger(self, cycle_id: str) -> list[fpb.LedgerEntry]:
        stub = funding_pb2_grpc.FundingServiceStub(self._channel("funding"))
        out: list[fpb.LedgerEntry] = []
        req = fpb.ListLedgerEntriesRequest(cycle_id=cycle_id, page_size=500)
        while True:
            page = stub.ListLedgerEntries(req, metadata=self._md(), timeout=10)
            out.extend(page.entries)
            if not page.next_page_token:
                return out
            req.page_token = page.next_page_token


# ---------------------------------------------------------------------- a read-only database


def _admin(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def set_read_only(url: str, on: bool) -> None:
    """The database takes no writes (``on``) or takes them again; every open session of it is
    terminated, so the service's pooled connections pick the setting up (a database setting only
    applies to new sessions)."""
    name = make_url(url).database
    with _admin(url) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


@contextlib.contextmanager
def read_only(url: str) -> Iterator[None]:
    set_read_only(url, True)
    try:
        yield
    finally:
        set_read_only(url, False)


def writes_refused(url: str) -> bool:
    """A write really fails on the database now (what the service's next write meets)."""
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database) as conn:
        try:
            conn.execute("CREATE TABLE _aicc_fault_probe (x int)")
        except psycopg.errors.ReadOnlySqlTransaction:
            return True
        conn.rollback()
        return False


# ---------------------------------------------------------------------- what a year decided and paid


@dataclass
class YearOutcome:
    cycle_id: str
    # enterprise → (tier, amount in fen): what the year awarded, comparable across suites
    awards: dict[str, tuple[str, int]]
    award_ids: dict[str, str]  # application id → enterprise
    budget: fpb.Budget
    disbursements: list[fpb.Disbursement]
    ledger: list[fpb.LedgerEntry]
    treasury: list[tuple[str, str, int, str]] = field(default_factory=list)  # key, payee, fen, state

    @property
    def totals(self) -> dict[str, int | bool]:
        b = self.budget
        return {
            "total": b.total_fen,
            "reserved": b.reserved_fen,
            "disbursed": b.disbursed_fen,
            "available": b.available_fen,
            "returned": b.returned_fen,
            "closed": b.closed,
        }


def treasury_orders(data_dir: Path) -> list[tuple[str, str, int, str]]:
    """Every order in the fake treasury's own file: key, payee, amount, state."""
    path = data_dir / "treasury-fake.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT idempotency_key, payee_organization_id, amount_fen, state FROM orders ORDER BY rowid"
        ).fetchall()
    return [(str(k), str(p), int(a), str(s)) for k, p, a, s in rows]


def year_outcome(reader: Reader, suite: Suite, cycle_id: str) -> YearOutcome:
    proposal = reader.proposal(cycle_id)
    funded = [line for line in proposal.lines if line.amount_fen > 0]
    return YearOutcome(
        cycle_id=cycle_id,
        awards={line.enterprise_name: (rpb.Tier.Name(line.tier), line.amount_fen) for line in funded},
        award_ids={line.application_id: line.enterprise_name for line in funded},
        budget=reader.budget(cycle_id),
        disbursements=reader.disbursements(cycle_id),
        ledger=reader.ledger(cycle_id),
        treasury=treasury_orders(suite.data),
    )


def assert_paid_exactly_once(o: YearOutcome) -> None:
    """Each award paid once, at its amount, to its organisation, recorded as paid in funding and
    in the treasury; nothing else paid; nothing left reserved; the ledger balances."""
    amount_of = {app: o.awards[name][1] for app, name in o.award_ids.items()}
    paid = [d for d in o.disbursements if d.status == fpb.DISBURSEMENT_STATUS_PAID]
    assert sorted(d.application_id for d in paid) == sorted(amount_of), (
        "funding's paid disbursements are not exactly the awards",
        [(d.application_id, fpb.DisbursementStatus.Name(d.status)) for d in o.disbursements],
        amount_of,
    )
    assert all(d.amount_fen == amount_of[d.application_id] for d in paid), paid
    assert len(o.disbursements) == len(paid), o.disbursements  # none REQUESTED or FAILED left
    treasury_paid = [t for t in o.treasury if t[3].upper() == "PAID" and t[0].startswith(f"{o.cycle_id}:")]
    per_app: dict[str, int] = {}
    for key, _payee, amount, _state in treasury_paid:
        app = key.split(":")[1]
        per_app[app] = per_app.get(app, 0) + 1
        assert amount == amount_of.get(app), (key, amount, amount_of)
    assert per_app == dict.fromkeys(amount_of, 1), f"treasury orders per award: {per_app}"
    by_key = {d.idempotency_key: d for d in paid}
    for key, payee, _amount, _state in treasury_paid:
        assert by_key[key].organization_id == payee, (key, payee)
    total = sum(amount_of.values())
    b = o.budget
    assert b.closed, b
    assert (b.disbursed_fen, b.reserved_fen) == (total, 0), b
    assert b.returned_fen == b.total_fen - total, b
    assert b.available_fen == 0, b
    transactions: dict[str, int] = {}
    accounts: dict[str, int] = {}
    for e in o.ledger:
        transactions[e.transaction_id] = transactions.get(e.transaction_id, 0) + e.amount_fen
        accounts[e.account] = accounts.get(e.account, 0) + e.amount_fen
    assert all(v == 0 for v in transactions.values()), "an unbalanced ledger transaction"
    paid_accounts = {
        a.removeprefix("treasury:paid:"): v for a, v in accounts.items() if a.startswith("treasury:paid:")
    }
    assert paid_accounts == amount_of, f"the ledger's payments per award: {paid_accounts}"
    assert all(v == 0 for a, v in accounts.items() if a.startswith("budget:reserved:")), accounts
