"""Faults a province's operators meet, injected into a real running suite (``aicc up`` + ``aicc
demo`` as processes): the worker and a service killed with SIGKILL in the middle of a year, a
service's database that stops taking writes, the demo driver killed and run again. The year must
heal by itself and close with what an undisturbed year decides and pays — each winner paid exactly
once, nothing left reserved (issue 9, points 11 and 12).

Two years: an undisturbed reference (SQLite), and one on PostgreSQL that takes every fault.
Awards are compared by enterprise, tier and amount (application ids are minted per suite; the
demo's experts score each enterprise from its fixed quality, far from the tier thresholds).

Covered elsewhere: a crash of funding after the treasury paid but before funding recorded it —
``tests/service/test_funding.py::test_a_payment_made_before_a_crash_is_recorded_not_repaid``
(the treasury remembers the key across a restart; funding reconciles by key and does not pay
again); a failed audit write — ``tests/service/test_audit.py::
test_state_change_fails_when_its_audit_record_cannot_be_written`` (UNAVAILABLE, retried, applied
once).
"""

from __future__ import annotations

import time

import pytest

from aicc.platform.settings import SERVICES
from tests.support.faults import (
    Reader,
    Suite,
    YearOutcome,
    assert_paid_exactly_once,
    finish,
    read_only,
    treasury_orders,
    writes_refused,
    year_outcome,
)
from tests.support.pg import Databases, server_url

pytestmark = pytest.mark.e2e

CYCLE = "demo-2026-1"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> YearOutcome:
    """An undisturbed demo year, read the same way as the disturbed one."""
    with Suite(tmp_path_factory.mktemp("reference")) as suite:
        reader = Reader(suite)
        try:
            demo = suite.demo()
            reader.login()
            finish(demo, suite)
            outcome = year_outcome(reader, suite, CYCLE)
        finally:
            reader.close()
    assert_paid_exactly_once(outcome)
    assert len(outcome.awards) >= 2, outcome.awards
    return outcome


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_a_year_survives_kill_9_a_read_only_database_and_a_killed_demo(tmp_path, reference) -> None:
    dbs = Databases(server_url(), SERVICES)
    kills: list[tuple[str, str]] = []  # (child, phase it was killed in)
    try:
        with Suite(tmp_path, dbs.urls) as suite:
            reader = Reader(suite)
            try:
                demo = suite.demo()
                reader.login()

                # The worker, while the province decides compliance (the decision arrives meanwhile).
                kills.append(("worker", reader.wait_phase(CYCLE, "COMPLIANCE_REVIEW")))
                suite.kill("worker")

                # The demo driver itself, while the experts score; run again, it resumes the year.
                reader.wait_phase(CYCLE, "EXPERT_REVIEW")
                time.sleep(1.5)
                demo.kill()
                demo.wait(10)
                demo = suite.demo()

                # The worker, while finance / the party group decide.
                kills.append(
                    ("worker", reader.wait_phase(CYCLE, "FINANCE_CONCURRENCE", "PARTY_GROUP_APPROVAL"))
                )
                suite.kill("worker")

                # Funding's database refuses writes from publicity on: no payment can be made.
                reader.wait_phase(CYCLE, "PUBLICITY")
                with read_only(dbs.urls["funding"]):
                    assert writes_refused(dbs.urls["funding"])
                    reader.wait_phase(CYCLE, "DISBURSING")
                    time.sleep(1.5)  # the workflow's first disbursements fail and are retried
                    assert not [o for o in treasury_orders(suite.data) if o[0].startswith(CYCLE)]
                assert not writes_refused(dbs.urls["funding"])
                # Then funding and the worker are killed while the year is paying.
                kills.append(("funding", reader.phase(CYCLE)))
                suite.kill("funding")
                kills.append(("worker", reader.phase(CYCLE)))
                suite.kill("worker")

                finish(demo, suite)
                assert suite.up is not None
                assert suite.up.poll() is None, "a crash tore the suite down:\n" + suite.report()
                outcome = year_outcome(reader, suite, CYCLE)
                cycles = [c.cycle_id for c in reader.cycles()]
            finally:
                reader.close()
            report = suite.report()
            up_log = suite.up_log.read_text()
            demo_out = suite.demo_output()
    finally:
        dbs.close()

    assert kills == [
        ("worker", "COMPLIANCE_REVIEW"),
        ("worker", kills[1][1]),
        ("funding", "DISBURSING"),
        ("worker", "DISBURSING"),
    ], kills
    assert kills[1][1] in ("FINANCE_CONCURRENCE", "PARTY_GROUP_APPROVAL"), kills
    # aicc up restarted each killed child and kept the rest of the suite running.
    assert up_log.count("↻ worker exited (code -9)") == 3, up_log
    assert up_log.count("↻ funding exited (code -9)") == 1, up_log
    assert up_log.count("exited (code") == 4, up_log
    # Funding answered errors while its database took no writes.
    assert "read-only transaction" in (tmp_path / "data" / "logs" / "funding.log").read_text(), report
    # The second demo resumed the same cycle; no second cycle was opened.
    assert f"resuming {CYCLE}" in demo_out, demo_out
    assert cycles == [CYCLE], cycles
    assert f"cycle {CYCLE} CLOSED in" in demo_out, demo_out

    # The same year as the undisturbed one, paid exactly once.
    assert outcome.awards == reference.awards
    assert outcome.totals == reference.totals
    assert_paid_exactly_once(outcome)
