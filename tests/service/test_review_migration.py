"""Review's migration to publicity notices and proposal bases keeps what was recorded before it, on
SQLite and on PostgreSQL: every version after the first was an upheld objection's, and each cycle
publicised before gets the notice of that publicity (closed when the cycle was announced)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, pool, text

from aicc.cli.registry import migrations_dir
from aicc.platform.db import migrate, sync_url
from tests.support.pg import Databases, server_url

BEFORE = "20261127_031113"
AT = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'review.db'}"
        return
    dbs = Databases(server_url(), ["review"])
    try:
        yield dbs.urls["review"]
    finally:
        dbs.close()


def _seed(conn) -> None:
    cycle = text(
        "INSERT INTO review_cycles (cycle_id, policy_json, phase, opened_at, recusals, publicity_ends_at,"
        " publicity_proposal_version, announced_at) VALUES (:c, '{}', :phase, :at, 0, :ends, :v, :ann)"
    )
    conn.execute(cycle, {"c": "announced", "phase": "ANNOUNCED", "at": AT, "ends": AT, "v": 1, "ann": AT})
    conn.execute(cycle, {"c": "open", "phase": "PUBLICITY", "at": AT, "ends": AT, "v": 1, "ann": None})
    conn.execute(cycle, {"c": "early", "phase": "PROPOSAL", "at": AT, "ends": None, "v": None, "ann": None})
    proposal = text(
        "INSERT INTO proposals (cycle_id, version, lines, budget_fen, allocated_fen, reason,"
        " removed_application_ids, created_at) VALUES (:c, :v, '[]', 100, 0, 'r', '[]', :at)"
    )
    for c, v in (("announced", 1), ("announced", 2), ("open", 1), ("early", 1)):
        conn.execute(proposal, {"c": c, "v": v, "at": AT})


def test_existing_rows_get_their_basis_and_notices(url):
    migrate(migrations_dir("review"), url, BEFORE)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _seed(conn)
        migrate(migrations_dir("review"), url)
        with engine.connect() as conn:
            bases = conn.execute(
                text(
                    "SELECT cycle_id, version, basis, previous_version FROM proposals ORDER BY cycle_id, version"
                )
            ).all()
            notices = conn.execute(
                text(
                    "SELECT cycle_id, proposal_version, starts_at, published_where, closed_at, changed,"
                    " result_version FROM publicity_notices ORDER BY cycle_id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in bases] == [
        ("announced", 1, "computed", 0),
        ("announced", 2, "objection_upheld", 1),
        ("early", 1, "computed", 0),
        ("open", 1, "computed", 0),
    ]
    by_cycle = {r[0]: r for r in notices}
    assert set(by_cycle) == {"announced", "open"}
    announced = by_cycle["announced"]
    assert (announced[1], announced[2], announced[3]) == (1, None, "")
    assert announced[4] is not None
    assert (bool(announced[5]), announced[6]) == (True, 2)
    still_open = by_cycle["open"]
    assert (still_open[4], bool(still_open[5]), still_open[6]) == (None, False, None)
