"""The registry of the suite's services: name → its ServiceSpec (imported lazily)."""

from __future__ import annotations

import importlib

from aicc.platform.server import ServiceSpec
from aicc.platform.settings import SERVICES


def spec(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise KeyError(name)
    return importlib.import_module(f"services.{name}.service").SPEC
