"""Each service's own database: async SQLAlchemy engine, transactions, health ping, UTC timestamps,
and the Alembic runner every service's migrations use.

SQLite (embedded default) and PostgreSQL (production) take the same URLs a user writes
(``sqlite:///path`` or ``postgresql+psycopg://...``); the async driver is chosen here.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random identifier with a readable prefix, e.g. ``app_3kq4...`` (128 random bits)."""
    raw = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()
    return f"{prefix}_{raw}"


class UtcDateTime(TypeDecorator):
    """Stored as UTC; always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def async_url(url: str) -> str:
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if u.drivername.startswith("postgres"):
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def safe_url(url: str) -> str:
    """For logs: never the password."""
    return make_url(url).render_as_string(hide_password=True)


def _prepare_sqlite_file(url: str) -> None:
    u = make_url(url)
    if u.drivername.startswith("sqlite") and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        _prepare_sqlite_file(url)
        self.is_sqlite = make_url(url).drivername.startswith("sqlite")
        kwargs: dict = {"pool_pre_ping": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.is_sqlite:
            self._sqlite_pragmas()
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        try:
            from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

            SQLAlchemyInstrumentor().instrument(engine=self.engine.sync_engine)
        except Exception:  # pragma: no cover - instrumentation is optional at runtime
            pass

    def _sqlite_pragmas(self) -> None:
        sync_engine = self.engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the driver, issue BEGIN; then take the write lock up front so two
            # writers never deadlock upgrading a read lock.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no corruption on a crash, only the last commits may be lost on power
            # failure — acceptable for the embedded laptop default; production runs PostgreSQL.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(sync_engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


# ---------------------------------------------------------------- migrations


def migrations_dir(service: str) -> Path:
    pkg = importlib.import_module(f"services.{service}")
    return Path(pkg.__file__).parent / "migrations"


def alembic_config(service: str, url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = sync_url(url)
    cfg.attributes["service"] = service
    return cfg


def migrate(service: str, url: str, revision: str = "head") -> None:
    from alembic import command

    _prepare_sqlite_file(url)
    command.upgrade(alembic_config(service, url), revision)


def _render_item(type_, obj, autogen_context):
    # Migrations name plain SQLAlchemy types, never this package's decorators.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_env(service: str) -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    config = context.config
    url = config.attributes.get("url")
    if url is None:  # invoked by the alembic CLI: take the URL from settings
        from aicc.platform.settings import get_settings

        url = sync_url(get_settings().database_url(service))
    metadata = importlib.import_module(f"services.{service}.store").Base.metadata
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
