"""``aicc demo``: seed a demo province and drive one demo year, through every phase from PUBLISHED
to CLOSED, against a running suite — logging in as each role it plays. Exits 0 when CLOSED.

Seeding is idempotent (organisations by USCC, users by username), so it can run again against
the same suite; each run opens a new cycle ``demo-2026-<n>``.

Officials log in with a second factor: the demo keeps each official's TOTP secret (returned once by
CreateUser) in ``data_dir/secrets/demo-totp.json`` (0600) with the last time step it used (a code is
never reused), and the operator's from ``AICC_BOOTSTRAP_OPERATOR_TOTP_FILE`` or
``data_dir/secrets/operator-totp``. A session is reused while its token has minutes left.
"""

from __future__ import annotations

import asyncio
import sys
import time

import grpc

from aicc.cli.demo.province import EXPERTS, Demo, say
from aicc.cli.demo.year import Year, _phase
from aicc.platform.settings import Settings
from aicc.platform.status import read_error


async def _drive(settings: Settings) -> int:
    demo = Demo(settings)
    try:
        say("▶ demo: seeding the province")
        await demo.seed()
        await demo.login("sd.industry")
        for username, *_rest in EXPERTS:
            await demo.login(username)
        n = 1 + sum(1 for c in await demo.cycles() if c.cycle_id.startswith("demo-2026-"))
        year = Year(demo, f"demo-2026-{n}")
        say("▶ demo: driving a year through every phase")
        final = await year.run()
        await demo.login("sd.finance")
        await year.award_table()
        if _phase(final) != "CLOSED":
            return 1
        say(f"cycle {year.cycle_id} CLOSED in {time.monotonic() - year.started:.1f}s")
        return 0
    except grpc.aio.AioRpcError as e:
        say(f"✗ demo stopped: {read_error(e)}")
        return 1
    except TimeoutError as e:
        say(f"✗ demo stopped: {e}")
        return 1
    finally:
        await demo.close()


def drive(settings: Settings) -> int:
    return asyncio.run(_drive(settings))


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="seed a demo province and drive a demo year against a running suite")
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform.settings import get_settings

    code = drive(get_settings())
    sys.stdout.flush()
    return code
