"""Supervision's use cases on the real store (a migrated SQLite file): what a lost race on a unique
key comes to, and the per-object checks next to the use cases."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from aicc.cli.registry import migrate
from aicc.platform.auth import Principal
from aicc.platform.db import Database, unit_of_work
from aicc.platform.errors import AlreadyExists, NotFound
from aicc.platform.pagination import PageRequest
from services.supervision.domain import evaluations, reports, targets
from services.supervision.domain.model import AwardRef, Grade, ReportedValue, TargetTemplate
from services.supervision.store import SupervisionStore

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
AWARDS = [
    AwardRef("app-1", "org-a", 200_000_000, "370200"),
    AwardRef("app-2", "org-b", 100_000_000, "370100"),
]
TEMPLATES = [
    TargetTemplate("firms_served", "Firms served", "firms", "50"),
    TargetTemplate("models", "Models", "", "3"),
]
APPLICANT_A = Principal("u-a", "app-a", frozenset({"applicant"}), organization_id="org-a")
APPLICANT_B = Principal("u-b", "app-b", frozenset({"applicant"}), organization_id="org-b")
QINGDAO = Principal("u-q", "qd", frozenset({"city_industry"}), city_code="370200")
PROVINCE = Principal("u-p", "prov", frozenset({"province_industry"}))


@pytest.fixture
async def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'supervision.db'}"
    migrate("supervision", url)
    db = Database(url)
    yield unit_of_work(db, SupervisionStore)
    await db.dispose()


class StaleReads:
    """The repository of a transaction that read before a concurrent one committed: the lookups
    named in ``stale`` find nothing; everything else is the real store."""

    def __init__(self, repo: SupervisionStore, stale: set[str]) -> None:
        self._repo, self._stale = repo, stale

    def __getattr__(self, name: str):
        found = getattr(self._repo, name)
        if name not in self._stale:
            return found

        async def nothing(*args):
            return [] if name == "targets_of" else None

        return nothing


def racing(uow, concurrent: Callable[[], Awaitable[object]], stale: set[str]):
    """A unit of work whose first opening loses a race: ``concurrent`` commits first, and the
    repository handed out had read before it. Later openings are ordinary."""
    opened = []

    @contextlib.asynccontextmanager
    async def open_unit() -> AsyncIterator[object]:
        opened.append(1)
        if len(opened) == 1:
            await concurrent()
            async with uow() as repo:
                yield StaleReads(repo, stale)
        else:
            async with uow() as repo:
                yield repo

    open_unit.opened = opened  # type: ignore[attr-defined]
    return open_unit


async def _create(uow):
    return await targets.create_targets(uow=uow, cycle_id="c1", awards=AWARDS, templates=TEMPLATES, now=NOW)


async def test_targets_created_concurrently_are_answered_as_a_repeat(uow) -> None:
    winner = []

    async def concurrent() -> None:
        winner.extend(await _create(uow))

    lost = racing(uow, concurrent, {"cycle", "award", "targets_of"})
    answer = await _create(lost)
    assert len(lost.opened) == 2  # the lost unit of work was rolled back and tried again
    assert [t.target_id for t in answer] == [t.target_id for t in winner]
    assert len(answer) == 4
    page = await targets.list_targets(
        uow=uow, principal=PROVINCE, cycle_id="c1", application_id="", page=PageRequest(50)
    )
    assert sorted(t.target_id for t in page.items) == sorted(t.target_id for t in winner)
    assert all(t.created_at == NOW for t in page.items)


async def _report(uow, application_id: str = "app-1", principal: Principal = APPLICANT_A):
    own = await targets.list_targets(
        uow=uow, principal=principal, cycle_id="c1", application_id=application_id, page=PageRequest(50)
    )
    return await reports.submit_report(
        uow=uow,
        principal=principal,
        cycle_id="c1",
        application_id=application_id,
        values=[ReportedValue(own.items[0].target_id, "38")],
        narrative="n",
        now=NOW,
    )


async def test_an_evaluation_recorded_concurrently_is_already_there(uow) -> None:
    await _create(uow)
    await _report(uow)

    def evaluate(uow, grade: Grade):
        return evaluations.record_evaluation(
            uow=uow,
            principal=PROVINCE,
            cycle_id="c1",
            application_id="app-1",
            grade=grade,
            comments="",
            now=NOW,
        )

    with pytest.raises(AlreadyExists) as e:
        await evaluate(racing(uow, lambda: evaluate(uow, Grade.GOOD), {"evaluation"}), Grade.FAIL)
    assert e.value.reason == "EVALUATION_EXISTS"
    assert e.value.message_zh
    async with uow() as repo:
        kept = await repo.evaluation("c1", "app-1")
    assert kept is not None
    assert kept.grade is Grade.GOOD
    assert kept.evaluated_by == "u-p"


async def test_only_the_recipient_reports_and_each_sees_its_own(uow) -> None:
    await _create(uow)
    report = await _report(uow)
    assert report.submitted_at == NOW
    assert report.submitted_by == "u-a"
    with pytest.raises(NotFound) as e:  # another organisation's award looks like a missing one
        await reports.submit_report(
            uow=uow,
            principal=APPLICANT_B,
            cycle_id="c1",
            application_id="app-1",
            values=[ReportedValue(report.values[0].target_id, "1")],
            narrative="n",
            now=NOW,
        )
    assert e.value.reason == "AWARD_NOT_FOUND"

    async def seen(p: Principal) -> set[str]:
        page = await targets.list_targets(
            uow=uow, principal=p, cycle_id="c1", application_id="", page=PageRequest(50)
        )
        return {t.application_id for t in page.items}

    assert await seen(APPLICANT_A) == {"app-1"}
    assert await seen(APPLICANT_B) == {"app-2"}
    assert await seen(QINGDAO) == {"app-1"}
    assert await seen(PROVINCE) == {"app-1", "app-2"}
    assert await seen(Principal("u-x", "x", frozenset({"applicant"}))) == set()  # no organisation: nothing
    page = await targets.list_targets(
        uow=uow, principal=APPLICANT_A, cycle_id="c1", application_id="app-1", page=PageRequest(50)
    )
    assert {t.code: t.reported_value for t in page.items} == {"firms_served": "38", "models": ""}
