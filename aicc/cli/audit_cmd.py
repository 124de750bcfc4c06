"""``aicc audit verify``: check each service's tamper-evident audit chain (``aicc/platform/audit.py``)
in its own database, with the chain key (``AICC_AUDIT_KEY_FILE``; dev mode: the generated one).

Prints per service ``OK <n> records`` or the first problem (record sequence number and kind:
altered, removed, inserted, reordered). Exit 0 only when every chain verifies.
"""

from __future__ import annotations

from aicc.platform.settings import SERVICES


def add_parser(sub) -> None:
    p = sub.add_parser("audit", help="audit log tools (verify the tamper-evident chains)")
    asub = p.add_subparsers(dest="audit_command", metavar="<audit-command>")
    v = asub.add_parser("verify", help="verify each service's audit chain; exit 0 only if all verify")
    v.add_argument("--service", choices=SERVICES, action="append", help="only this service (repeatable)")
    v.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def verify_service(service: str, settings, key: bytes):
    """Reads one service's chain and verifies it; returns the VerifyResult."""
    from pathlib import Path

    from sqlalchemy import create_engine, pool
    from sqlalchemy.engine import make_url

    from aicc.platform import audit
    from aicc.platform.db import sync_url

    url = make_url(settings.database_url(service))
    if url.drivername.startswith("sqlite") and url.database and not Path(url.database).exists():
        raise FileNotFoundError(f"no database {url.database}")
    engine = create_engine(sync_url(url.render_as_string(hide_password=False)), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = audit.read_all_sync(conn)
    finally:
        engine.dispose()
    return audit.verify(rows, key)


def run(args, settings=None) -> int:
    from aicc.platform import audit
    from aicc.platform.settings import ConfigError, get_settings

    settings = settings or get_settings()
    try:
        key = audit.load_key(settings)
    except ConfigError as e:
        print(f"error: {e}")
        return 2
    failed = False
    for service in args.service or SERVICES:
        try:
            result = verify_service(service, settings, key)
        except Exception as e:  # noqa: BLE001 - unreachable database, table missing: report and go on
            print(
                f"{service}: ERROR cannot read the audit log ({type(e).__name__}: {str(e).splitlines()[0]})"
            )
            failed = True
            continue
        if result.ok:
            print(f"{service}: OK {result.count} records")
        else:
            print(f"{service}: FAILED at {result}")
            failed = True
    return 1 if failed else 0
