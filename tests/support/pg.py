"""PostgreSQL for tests: a URL from AICC_TEST_POSTGRES_URL (default: the local server at
127.0.0.1:5432, user postgres); on a machine with Docker and no server there, testcontainers starts one.
Each test suite gets its own throw-away databases."""

from __future__ import annotations

import os
import uuid

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    url = os.environ.get("AICC_TEST_POSTGRES_URL", DEFAULT_URL)
    try:
        _connect(url).close()
        return url
    except psycopg.OperationalError:
        if os.environ.get("AICC_TEST_POSTGRES_URL"):
            raise
    try:  # a machine with Docker and no local server
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg")
        container.start()
        return container.get_connection_url()
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(
            f"PostgreSQL is not reachable at {DEFAULT_URL} and no container could be started ({e}); "
            "start it (pg_ctlcluster ... start) or set AICC_TEST_POSTGRES_URL"
        ) from e


def _connect(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        dbname=u.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


class Databases:
    """Creates one database per service; drops them at close()."""

    def __init__(self, base_url: str, services) -> None:
        self.base_url = base_url
        self.prefix = f"aicc_t_{uuid.uuid4().hex[:8]}"
        self.urls: dict[str, str] = {}
        with _connect(base_url) as conn:
            for svc in services:
                name = f"{self.prefix}_{svc}"
                conn.execute(f'CREATE DATABASE "{name}"')
                self.urls[svc] = make_url(base_url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with _connect(self.base_url) as conn:
            for url in self.urls.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
