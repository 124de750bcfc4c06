"""``aicc demo``: seed a demo province and drive one demo year, through every phase from PUBLISHED
to CLOSED, against a running suite — logging in as each role it plays. Exits 0 when CLOSED.

Seeding is idempotent (organisations by USCC, users by username), so it can run again against
the same suite; each run opens a new cycle ``demo-<fiscal year>-<n>`` (this year's, and with
``--years 2`` next year's too: the first year's enterprises apply again with newcomers, those
awarded before are refused under Art. 11, and a newcomer with a serious dishonesty record of the
first year is refused by the three-year look-back).

Officials log in with a second factor: the demo keeps each official's TOTP secret (returned once by
CreateUser) in ``data_dir/secrets/demo-totp.json`` (0600) with the last time step it used (a code is
never reused), and the administrators' (system and security administrator: organisations and
accounts) from ``<role>-totp`` in ``AICC_BOOTSTRAP_ADMINS_DIR`` or ``data_dir/secrets``. A session is reused while its token has minutes left.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

import grpc

from aicc.cli.demo.province import ALL_ENTERPRISES, EXPERTS, Demo, applicant_of, say
from aicc.cli.demo.records import read_records
from aicc.cli.demo.year import NeedsAttention, Year, _phase
from aicc.platform.clock import beijing_date
from aicc.platform.settings import Settings
from aicc.platform.status import read_error


async def _drive(settings: Settings, years: int = 1) -> int:
    demo = Demo(settings)
    try:
        say("▶ demo: seeding the province")
        await demo.seed()
        await demo.login("sd.industry")
        for username, *_rest in EXPERTS:
            await demo.login(username)
        for enterprise in ALL_ENTERPRISES:  # a resumed year reads the applications it made before
            await demo.login(applicant_of(enterprise[0]))
        for year in await _years(demo, years):
            await demo.open_appropriation(year.fiscal_year, year.policy.budget_fen)
            say(f"▶ demo: driving {year.cycle_id} through every phase")
            final = await year.run()
            await demo.login("sd.finance")
            await year.award_table()
            if _phase(final) != "CLOSED":
                return 1
            await read_records(demo, year.cycle_id)
            say(f"cycle {year.cycle_id} CLOSED in {time.monotonic() - year.started:.1f}s")
        return 0
    except grpc.aio.AioRpcError as e:
        say(f"✗ demo stopped: {read_error(e)}")
        return 1
    except (TimeoutError, NeedsAttention) as e:
        say(f"✗ demo stopped: {e}")
        return 1
    finally:
        await demo.close()


async def _years(demo: Demo, years: int) -> list[Year]:
    """The years to drive: an unfinished demo cycle first (resumed where it stands), then new ones
    (``demo-<fiscal year>-<n>``), the fiscal years following each other from the year the suite's
    first demo cycle was funded by (this year for a new suite). Each cycle names its fiscal year,
    so the second is funded by next year's appropriation though its window opens this year."""
    cycles = [c for c in await demo.cycles() if c.cycle_id.startswith("demo-")]
    funded = {c.cycle_id: c.fiscal_year or int(c.cycle_id.split("-")[1]) for c in cycles}
    first = min(funded.values(), default=beijing_date(datetime.now(UTC)).year)
    unfinished = [c for c in cycles if _phase(c) != "CLOSED"]
    out: list[Year] = []
    if unfinished:
        c = unfinished[0]  # newest first
        say(f"▶ demo: resuming {c.cycle_id} in {_phase(c)}")
        year = funded[c.cycle_id]
        out.append(Year(demo, c.cycle_id, fiscal_year=year, later=year > first))
    fiscal_year = out[0].fiscal_year + 1 if out else first
    while len(out) < years:
        n = 1 + sum(1 for c in cycles if c.cycle_id.startswith(f"demo-{fiscal_year}-"))
        out.append(Year(demo, f"demo-{fiscal_year}-{n}", fiscal_year=fiscal_year, later=fiscal_year > first))
        fiscal_year += 1
    return out


def drive(settings: Settings, years: int = 1) -> int:
    return asyncio.run(_drive(settings, years))


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="seed a demo province and drive a demo year against a running suite")
    p.add_argument(
        "--years", type=int, default=1, help="consecutive years to drive (fiscal 2026, 2027, …); default 1"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform.settings import get_settings

    code = drive(get_settings(), max(1, args.years))
    sys.stdout.flush()
    return code
