"""``aicc worker``: run the Temporal worker of the cycle workflow until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("worker", help="run the Temporal worker (cycle workflow and its activities)")
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform import logs
    from aicc.platform.settings import ConfigError, get_settings
    from workflows.cycle import worker

    logs.configure("worker")
    try:
        asyncio.run(worker.run(get_settings()))
    except ConfigError as e:
        print(f"aicc worker: {e}", file=sys.stderr, flush=True)
        os._exit(2)
    os._exit(0)  # temporalio/sdk-python#300: avoid the SDK runtime's crash at interpreter exit
