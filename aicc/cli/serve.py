"""``aicc serve <service>``: run one gRPC service until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import sys

from aicc.platform.settings import DEFAULT_PORTS, SERVICES


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="run one service (" + ", ".join(f"{s}:{DEFAULT_PORTS[s]}" for s in SERVICES) + ")"
    )
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--port", type=int, help="listen port (default: AICC_<SERVICE>_PORT or the DESIGN port)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.port is not None:
        os.environ[f"AICC_{args.service.upper()}_PORT"] = str(args.port)
    from aicc.cli.registry import spec
    from aicc.platform import logs
    from aicc.platform.server import ServiceHost

    async def main() -> None:  # the server must be built inside the running event loop
        await ServiceHost(spec(args.service)).run()

    from aicc.platform.settings import ConfigError

    logs.configure(args.service)
    try:
        asyncio.run(main())
    except ConfigError as e:  # a refusal to run as configured: one clear line, no traceback
        print(f"aicc serve {args.service}: {e}", file=sys.stderr, flush=True)
        os._exit(2)
    # temporalio/sdk-python#300: the SDK's runtime may abort at interpreter exit; leave promptly.
    os._exit(0)
