"""Settings: where each service's database URL comes from."""

from __future__ import annotations

from aicc.platform.settings import Settings


def test_database_url_defaults_to_a_sqlite_file_per_service(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.database_url("intake") == f"sqlite:///{tmp_path.resolve() / 'intake.db'}"
    assert s.database_url("review") != s.database_url("intake")


def test_database_url_from_a_mounted_secret_file(tmp_path):
    f = tmp_path / "intake-database-url"
    f.write_text("postgresql+psycopg://aicc:pw@db/aicc_intake\n")
    s = Settings(data_dir=tmp_path, intake_database_url_file=f)
    assert s.database_url("intake") == "postgresql+psycopg://aicc:pw@db/aicc_intake"


def test_an_explicit_url_wins_over_the_file(tmp_path):
    f = tmp_path / "u"
    f.write_text("postgresql+psycopg://from/file")
    s = Settings(intake_database_url="postgresql+psycopg://from/env", intake_database_url_file=f)
    assert s.database_url("intake") == "postgresql+psycopg://from/env"
