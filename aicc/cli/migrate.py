"""``aicc migrate``: apply each service's Alembic migrations to its own database."""

from __future__ import annotations

from aicc.platform.settings import SERVICES


def add_parser(sub) -> None:
    p = sub.add_parser("migrate", help="apply database migrations (all services, or one)")
    p.add_argument("--service", choices=SERVICES, action="append", help="only this service (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.cli.registry import migrate
    from aicc.platform.db import safe_url
    from aicc.platform.settings import get_settings

    settings = get_settings()
    for service in args.service or SERVICES:
        url = settings.database_url(service)
        migrate(service, url)
        print(f"{service}: migrated {safe_url(url)}")
    return 0
