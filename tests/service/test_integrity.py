"""Business records protected like the audit log (``aicc/platform/integrity.py``): the store seals
every ledger entry, disbursement, finance concurrence and score sheet it writes (and re-seals a row
on a legitimate update: a disbursement going from requested to paid), chains the ledger, and
``aicc audit verify`` names each row altered behind the service's back — an amount in a disbursement,
an opinion in a decision record, a score in a score sheet, a deleted ledger entry — by table, key
and check, on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import contextlib
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from aicc.cli.registry import migrate
from aicc.platform import audit, authz, integrity
from aicc.platform.auth import Principal
from aicc.platform.db import Database, sync_url, unit_of_work
from aicc.platform.settings import Settings
from services.funding.adapters import FakeTreasury
from services.funding.domain import appropriations, concurrence, usecases
from services.funding.domain.model import Line
from services.funding.store import FundingStore
from services.review.store import ScoreSheetRow
from tests.support.pg import Databases, server_url

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
FINANCE = Principal("u-fin", "fin", frozenset({authz.PROVINCE_FINANCE}), display_name="省财政厅经办人")


def _verify(settings: Settings, service: str) -> tuple[int, str]:
    from aicc.cli import audit_cmd

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = audit_cmd.run(argparse.Namespace(service=[service]), settings=settings)
    return code, out.getvalue()


def _settings(tmp_path, service: str, url: str) -> Settings:
    return Settings(dev_mode=True, data_dir=tmp_path, **{f"{service}_database_url": url})


def _db(settings: Settings, service: str) -> Database:
    url = settings.database_url(service)
    migrate(service, url)
    return Database(url, integrity_key=integrity.service_key(audit.load_key(settings), service))


async def _a_paid_year(db: Database) -> None:
    """An appropriation, a budget, a concurrence, a reservation and two paid awards."""
    uow = unit_of_work(db, FundingStore)
    await appropriations.open_appropriation(
        uow=uow,
        principal=FINANCE,
        fiscal_year=2026,
        budget_document_no="鲁财工指〔2026〕1号",
        amount_fen=100_000_000,
        performance_targets="targets",
        now=T0,
    )
    await usecases.open_budget(
        uow=uow, cycle_id="c1", total_fen=10_000_000, fiscal_year=2026, caps={"advanced": 5_000_000}, now=T0
    )
    lines = [
        Line("app-1", "org-a", 3_000_000, "370200", "advanced"),
        Line("app-2", "org-b", 2_000_000, "370100", "advanced"),
    ]
    await concurrence.record_finance_concurrence(
        uow=uow, principal=FINANCE, cycle_id="c1", version=1, agree=True, opinion="同意", lines=lines, now=T0
    )
    await usecases.reserve_funds(uow=uow, cycle_id="c1", version=1, lines=lines, now=T0)
    treasury = FakeTreasury()
    for x in lines:
        await usecases.disburse_award(
            uow=uow,
            treasury=treasury,
            cycle_id="c1",
            application_id=x.application_id,
            organization_id=x.organization_id,
            amount_fen=x.amount_fen,
            idempotency_key=f"k-{x.application_id}",
            city_code="",
            clock=lambda: T0,
        )


def _tamper(url: str, *statements: str) -> None:
    """As whoever can write the database would (no append-only trigger guards these tables)."""
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for st in statements:
                conn.execute(sa.text(st))
    finally:
        engine.dispose()


def _scalar(url: str, query: str) -> object:
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).scalar()
    finally:
        engine.dispose()


async def _funding_tampering_is_named(settings: Settings) -> None:
    db = _db(settings, "funding")
    try:
        await _a_paid_year(db)
    finally:
        await db.dispose()
    url = settings.database_url("funding")
    code, out = _verify(settings, "funding")
    assert code == 0, out  # every row sealed; the paid disbursements were re-sealed on their update
    assert "funding: integrity OK (" in out
    assert _scalar(url, "SELECT count(*) FROM disbursements WHERE status = 'paid'") == 2
    assert _scalar(url, "SELECT count(*) FROM ledger_entries WHERE integrity = '' OR chain = ''") == 0

    dsb = _scalar(url, "SELECT disbursement_id FROM disbursements WHERE application_id = 'app-1'")
    cnc = _scalar(url, "SELECT concurrence_id FROM finance_concurrences")
    third = _scalar(url, "SELECT seq FROM ledger_entries ORDER BY seq LIMIT 1 OFFSET 2")
    fourth = _scalar(url, "SELECT seq FROM ledger_entries ORDER BY seq LIMIT 1 OFFSET 3")
    _tamper(
        url,
        "UPDATE disbursements SET amount_fen = amount_fen + 100000 WHERE application_id = 'app-1'",
        "UPDATE finance_concurrences SET opinion = '不同意'",
        f"DELETE FROM ledger_entries WHERE seq = {third}",
    )
    code, out = _verify(settings, "funding")
    assert code == 1
    failed = [line for line in out.splitlines() if "FAILED integrity" in line]
    assert failed == [
        f"funding: FAILED integrity: disbursements [disbursement_id={dsb}]: integrity check failed "
        "(content altered: code does not match)",
        f"funding: FAILED integrity: finance_concurrences [concurrence_id={cnc}]: integrity check failed "
        "(content altered: code does not match)",
        f"funding: FAILED integrity: ledger_entries [seq={fourth}]: chain check failed (does not follow "
        "the entry before it: an entry was removed, inserted or reordered before this one)",
    ], out


async def test_sqlite_altered_amount_opinion_and_deleted_ledger_entry_are_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'funding.db'}"
    await _funding_tampering_is_named(_settings(tmp_path, "funding", url))


async def test_postgresql_altered_amount_opinion_and_deleted_ledger_entry_are_named(tmp_path):
    dbs = Databases(server_url(), ["funding"])
    try:
        await _funding_tampering_is_named(_settings(tmp_path, "funding", dbs.urls["funding"]))
    finally:
        dbs.close()


async def test_altered_score_in_a_score_sheet_is_named(tmp_path):
    settings = _settings(tmp_path, "review", f"sqlite:///{tmp_path / 'review.db'}")
    db = _db(settings, "review")
    try:
        async with db.transaction() as s:
            s.add(
                ScoreSheetRow(
                    sheet_id="sht_1",
                    assignment_id="asg_1",
                    cycle_id="c1",
                    application_id="app-1",
                    expert_user_id="usr_e",
                    version=1,
                    scores=[{"indicator_id": "tech", "points": "18.50", "justification": "好"}],
                    total="81.50",
                    submitted_at=T0,
                )
            )
    finally:
        await db.dispose()
    code, out = _verify(settings, "review")
    assert code == 0, out
    assert "score_sheets 1" in out
    url = settings.database_url("review")
    _tamper(url, "UPDATE score_sheets SET total = '95.50'")
    code, out = _verify(settings, "review")
    assert code == 1
    assert (
        "review: FAILED integrity: score_sheets [sheet_id=sht_1]: integrity check failed "
        "(content altered: code does not match)"
    ) in out
    # Erasing the code does not help either.
    _tamper(url, "UPDATE score_sheets SET integrity = ''")
    code, out = _verify(settings, "review")
    assert code == 1
    assert "score_sheets [sheet_id=sht_1]: integrity check failed (no integrity code)" in out


async def test_rows_from_before_the_codes_are_sealed_once_and_only_once(tmp_path):
    settings = _settings(tmp_path, "review", f"sqlite:///{tmp_path / 'review.db'}")
    url = settings.database_url("review")
    migrate("review", url)
    _tamper(  # rows as the previous revision left them: no code
        url,
        *(
            "INSERT INTO score_sheets (sheet_id, assignment_id, cycle_id, application_id, expert_user_id, "
            f"version, scores, total, correction_reason, submitted_at, integrity) VALUES ('sht_{n}', "
            f"'asg_{n}', 'c1', 'app', 'usr', 1, '[]', '70.00', '', '2026-11-30 01:00:00.000000', '')"
            for n in ("old", "older")
        ),
    )
    from services.review.store import Base

    key = integrity.service_key(audit.load_key(settings), "review")
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            assert integrity.seal_unsealed(conn, Base.metadata, key) == {"score_sheets": 2}
        assert _verify(settings, "review")[0] == 0
        _tamper(url, "UPDATE score_sheets SET total = '99.00', integrity = '' WHERE sheet_id = 'sht_old'")
        with engine.begin() as conn:  # a sealed table is never re-sealed: the erased code stays erased
            assert integrity.seal_unsealed(conn, Base.metadata, key) == {}
    finally:
        engine.dispose()
    code, out = _verify(settings, "review")
    assert code == 1
    assert "score_sheets [sheet_id=sht_old]: integrity check failed (no integrity code)" in out


@pytest.mark.parametrize("service", ["funding", "intake", "review", "supervision"])
def test_each_decision_table_is_protected(service):
    from aicc.cli.registry import metadata

    protected = {t.name for t in integrity.protected_tables(metadata(service))}
    expected = {
        "funding": {
            "ledger_entries",
            "disbursements",
            "finance_concurrences",
            "finance_concurrence_lines",
            "reservation_lines",
        },
        "intake": {"cycle_decisions", "recommendations"},
        "review": {
            "compliance_reviews",
            "score_sheets",
            "proposals",
            "objections",
            "publicity_notices",
            "announcements",
            "on_site_reviews",
        },
        "supervision": {"evaluations", "supervision_conclusions"},
    }[service]
    assert protected == expected
