"""Each service's own database: async SQLAlchemy engine, transactions and units of work, health
ping, UTC timestamps, keyset pages, entity ⇄ row copies, and the Alembic runner every service's
migrations use.

SQLite (embedded default) and PostgreSQL (production) take the same URLs a user writes
(``sqlite:///path`` or ``postgresql+psycopg://...``); the async driver is chosen here. Table models
are SQLModel classes on a registry of each service's own (``class Base(SQLModel,
registry=registry())``), so five services' tables never meet in one metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event, literal, text, tuple_
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import TypeDecorator

from aicc.platform.errors import Aborted, DomainError, FailedPrecondition, Unavailable
from aicc.platform.files import private_dir, private_file
from aicc.platform.ports import UnitOfWork

E = TypeVar("E")
R = TypeVar("R")


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as UTC; always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
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
    """The database file exists 0600 before SQLite opens it (SQLite gives its -wal and -shm files
    the database file's mode), in a directory created 0700."""
    u = make_url(url)
    if u.drivername.startswith("sqlite") and u.database and u.database != ":memory:":
        path = Path(u.database)
        private_dir(path.parent, tighten=False)
        private_file(path)
        for extra in ("-wal", "-shm", "-journal"):
            if (side := path.with_name(path.name + extra)).exists():
                private_file(side)


# Session.info entry holding the service's integrity key (read by aicc/platform/integrity.py).
INTEGRITY_SESSION_KEY = "aicc_integrity_key"


class Database:
    def __init__(self, url: str, *, integrity_key: bytes = b"") -> None:
        """``integrity_key``: the service's key of the integrity codes its sessions write on
        protected tables (``aicc/platform/integrity.py``); empty: none written."""
        self.url = url
        _prepare_sqlite_file(url)
        self.is_sqlite = make_url(url).drivername.startswith("sqlite")
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.is_sqlite:
            self._sqlite_pragmas()
        info = {INTEGRITY_SESSION_KEY: integrity_key} if integrity_key else {}
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        try:
            from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

            SQLAlchemyInstrumentor().instrument(engine=self.engine.sync_engine)
        except Exception:  # pragma: no cover - instrumentation is optional at runtime
            logging.getLogger("aicc.db").debug("SQLAlchemy instrumentation not available", exc_info=True)

    def _sqlite_pragmas(self) -> None:
        sync_engine = self.engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
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
        def _on_begin(conn: Any) -> None:
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


def unit_of_work(db: Database, repository: Callable[[AsyncSession], R]) -> UnitOfWork[R]:
    """A unit of work for a service's use cases: each call opens one transaction (commit on success,
    rollback on any exception) and hands out the service's repository bound to it."""

    @contextlib.asynccontextmanager
    async def open_unit() -> AsyncIterator[R]:
        async with db.transaction() as session:
            yield repository(session)

    return open_unit


# ---------------------------------------------------------------- rows and entities


def to_entity(cls: type[E], row: object) -> E:
    """The domain entity (a dataclass) of a stored row whose columns carry the same names."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def values_of(entity: object) -> dict[str, Any]:
    """A dataclass entity's fields as column values (shallow: JSON columns keep their objects)."""
    return {f.name: getattr(entity, f.name) for f in dataclasses.fields(entity)}  # type: ignore[arg-type]


# ---------------------------------------------------------------- keyset pages


def _cursor_value(v: object) -> object:
    return {"t": v.astimezone(UTC).isoformat()} if isinstance(v, datetime) else v


def _from_cursor_value(v: object) -> object:
    return datetime.fromisoformat(v["t"]) if isinstance(v, dict) and "t" in v else v


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    order_by: Sequence[ColumnElement[Any]],
    *,
    after: Sequence[object] | None,
    size: int,
    descending: bool = False,
) -> tuple[list[Any], list[object] | None]:
    """One page of ``query`` in the order of ``order_by`` (ascending, or all columns descending —
    newest first; the last column unique), the rows strictly after the cursor ``after``; returns the
    rows and the cursor of the next page (None on the last page). Cursor values are JSON-safe
    (times as ``{"t": iso}``)."""
    q = query.order_by(*[c.desc() if descending else c for c in order_by]).limit(size + 1)
    if after:
        if len(after) != len(order_by):
            raise ValueError("cursor does not match the order")
        bound = [literal(_from_cursor_value(v), type_=c.type) for c, v in zip(order_by, after, strict=True)]
        key, at = tuple_(*order_by), tuple_(*bound)
        q = q.where(key < at if descending else key > at)
    rows = list((await session.execute(q)).scalars())
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, [_cursor_value(getattr(last, str(c.key))) for c in order_by]


# ---------------------------------------------------------------- migrations


def alembic_config(migrations: Path, url: str, *, service: str = "") -> Any:
    """Alembic's configuration for one service's ``migrations/`` directory and database URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = sync_url(url)
    cfg.attributes["service"] = service
    return cfg


def migrate(migrations: Path, url: str, revision: str = "head") -> None:
    from alembic import command

    _prepare_sqlite_file(url)
    command.upgrade(alembic_config(migrations, url), revision)


def drift(migrations: Path, url: str, metadata: MetaData) -> list[Any]:
    """What the table models declare that the migrations do not (what ``alembic check`` reports):
    migrates a database at ``url`` to head, then compares it with ``metadata``; [] when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    migrate(migrations, url)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            ctx = MigrationContext.configure(connection, opts=_compare_options(connection.dialect.name))
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | bool:
    # Migrations name plain SQLAlchemy types, never this package's decorators.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        return "sa.String()" if type(obj).__name__ == "AutoString" else False
    return False


def _compare_options(dialect: str) -> dict[str, Any]:
    return {"compare_type": True, "render_as_batch": dialect == "sqlite", "render_item": _render_item}


def run_env(metadata: MetaData, service: str) -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    config = context.config
    url = config.attributes.get("url")
    if url is None:  # invoked by the alembic CLI: take the URL from settings
        from aicc.platform.settings import get_settings

        url = sync_url(get_settings().database_url(service))
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, **_compare_options(connection.dialect.name)
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def refusal_of(exc: BaseException) -> DomainError | None:
    """The last line for a constraint the database enforced that the use case did not check first
    (a foreign key to a missing record, a duplicate written by a concurrent request): a refusal
    without SQL text, never INTERNAL. None for anything else. Use cases should check first and
    name what is wrong; this only keeps a missed check from looking like a crash. A database that
    does not take the statement at all is UNAVAILABLE."""
    if isinstance(exc, OperationalError):
        # The database did not take the statement (read-only, disk full, connection lost, locked):
        # the service's storage failed, not the request. The transaction rolled back; the caller
        # may retry (the workflow's activities do), and health goes NOT_SERVING meanwhile.
        return Unavailable(
            "the service's database is not accepting requests now; nothing was recorded, try again shortly",
            "服务数据库暂不可用，本次请求未记录，请稍后重试",
            reason="DATABASE_UNAVAILABLE",
        )
    if not isinstance(exc, IntegrityError):
        return None
    orig = getattr(exc, "orig", None)
    sqlstate = str(getattr(orig, "sqlstate", "") or "")
    text_ = str(orig or "").upper()
    if sqlstate == "23505" or "UNIQUE CONSTRAINT" in text_:
        return Aborted(
            "the request conflicts with a record written at the same time; read it again and retry",
            "请求与同时写入的记录冲突，请重新读取后重试",
            reason="CONFLICT",
        )
    return FailedPrecondition(
        "the request refers to a record that does not exist or breaks a rule of the records",
        "请求引用的记录不存在，或不符合记录的约束",
        reason="CONSTRAINT",
    )
