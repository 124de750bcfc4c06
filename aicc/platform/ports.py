"""Shapes every service's domain is written against (no transport, no SQL): the unit of work its
use cases open, the clock they read. Each service's ``domain/ports.py`` names its own repository
and the other services it calls as Protocols; the adapters live outside the domain."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol, TypeVar

R_co = TypeVar("R_co", covariant=True)


class UnitOfWork(Protocol[R_co]):
    """Each call opens one transaction and hands out the service's repository bound to it; it
    commits when the block ends normally and rolls back on any exception."""

    def __call__(self) -> AbstractAsyncContextManager[R_co]: ...


# "now", injectable (tests pin it; production passes aicc.platform.clock.now_utc).
Clock = Callable[[], datetime]
