"""Migration drift: each service's table models and its Alembic migrations describe the same
schema, on SQLite and on PostgreSQL (what ``alembic check`` reports, for all five services)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String

from aicc.cli.registry import metadata, migrations_dir
from aicc.platform.db import drift
from aicc.platform.settings import SERVICES
from tests.support.pg import Databases, server_url


@pytest.fixture(scope="module")
def postgres():
    dbs = Databases(server_url(), SERVICES)  # PostgreSQL is required: no skip
    try:
        yield dbs.urls
    finally:
        dbs.close()


@pytest.mark.parametrize("service", SERVICES)
def test_models_and_migrations_agree_on_sqlite(service, tmp_path):
    assert drift(migrations_dir(service), f"sqlite:///{tmp_path / 'drift.db'}", metadata(service)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_models_and_migrations_agree_on_postgresql(service, postgres):
    assert drift(migrations_dir(service), postgres[service], metadata(service)) == []


def test_a_column_without_a_migration_is_reported(tmp_path):
    changed = MetaData()
    for table in metadata("intake").tables.values():
        table.to_metadata(changed)
    changed.tables["applications"].append_column(Column("unmigrated_note", String(20)))
    diffs = drift(migrations_dir("intake"), f"sqlite:///{tmp_path / 'drift.db'}", changed)
    assert [d[0] for d in diffs] == ["add_column"]
    assert diffs[0][3].name == "unmigrated_note"
