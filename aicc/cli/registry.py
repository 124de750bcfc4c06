"""The registry of the suite's services: name → its ServiceSpec (imported lazily, so that one
process loads only the service it runs). The CLI is the composition root: the platform imports no
service (an import contract checks that)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData

from aicc.platform import db
from aicc.platform.server import ServiceSpec
from aicc.platform.settings import SERVICES


def spec(name: str) -> ServiceSpec[Any]:
    if name not in SERVICES:
        raise KeyError(name)
    spec: ServiceSpec[Any] = importlib.import_module(f"services.{name}.service").SPEC
    return spec


def migrations_dir(name: str) -> Path:
    """A service's Alembic directory (``services/<name>/migrations``), found without importing it."""
    if name not in SERVICES:
        raise KeyError(name)
    package = importlib.util.find_spec(f"services.{name}")
    if package is None or not package.submodule_search_locations:
        raise KeyError(name)
    return Path(next(iter(package.submodule_search_locations))) / "migrations"


def migrate(name: str, url: str) -> None:
    """Applies one service's migrations to the database at ``url``."""
    db.migrate(migrations_dir(name), url)


def metadata(name: str) -> MetaData:
    """A service's table models (its store's metadata)."""
    md: MetaData = importlib.import_module(f"services.{name}.store").Base.metadata
    return md
