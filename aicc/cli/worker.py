"""``aicc worker``: run the Temporal worker of the cycle workflow until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os


def add_parser(sub) -> None:
    p = sub.add_parser("worker", help="run the Temporal worker (cycle workflow and its activities)")
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform import logs
    from aicc.platform.settings import get_settings
    from workflows.cycle import worker

    logs.configure("worker")
    asyncio.run(worker.run(get_settings()))
    os._exit(0)  # temporalio/sdk-python#300: avoid the SDK runtime's crash at interpreter exit
