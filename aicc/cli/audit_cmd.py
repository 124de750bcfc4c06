"""``aicc audit verify``: check each service's tamper-evident records in its own database, with the
chain key (``AICC_AUDIT_KEY_FILE``) and the checkpoint key (``AICC_AUDIT_ANCHOR_KEY_FILE``; dev mode:
the generated ones):

1. the audit chain (``aicc/platform/audit.py``): ``OK <n> records`` or the first problem (record
   sequence number and kind: altered, removed, inserted, reordered);
2. the chain against its signed checkpoints outside the database (``aicc/platform/anchors.py``):
   newest records removed, every record removed, or the database replaced by an older copy, naming
   the checkpoint; a checkpoint whose signature fails;
3. the integrity codes of the business records (``aicc/platform/integrity.py``) and the ledger's
   chain: each altered row by table, key and check.

Exit 0 only when everything verifies.
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


def _engine(service: str, settings):
    from pathlib import Path

    from sqlalchemy import create_engine, pool
    from sqlalchemy.engine import make_url

    from aicc.platform.db import sync_url

    url = make_url(settings.database_url(service))
    if url.drivername.startswith("sqlite") and url.database and not Path(url.database).exists():
        raise FileNotFoundError(f"no database {url.database}")
    return create_engine(sync_url(url.render_as_string(hide_password=False)), poolclass=pool.NullPool)


def check_service(service: str, settings, key: bytes, anchor_key: bytes) -> tuple[bool, list[str]]:
    """Everything ``verify`` checks for one service: (all good, the lines to print)."""
    from aicc.cli.registry import metadata
    from aicc.platform import anchors, audit, integrity

    engine = _engine(service, settings)
    try:
        with engine.connect() as conn:
            rows = audit.read_all_sync(conn)
            tables = integrity.verify_tables(conn, metadata(service), integrity.service_key(key, service))
    finally:
        engine.dispose()
    ok, lines = True, []
    chain = audit.verify(rows, key)
    if chain.ok:
        lines.append(f"{service}: OK {chain.count} records")
    else:
        lines.append(f"{service}: FAILED at {chain}")
        ok = False
    path = anchors.anchor_file(settings, service)
    checkpoints, problem = anchors.read_checkpoints(path, service, anchor_key)
    if problem:
        lines.append(f"{service}: FAILED checkpoints: {problem}")
        ok = False
    else:
        anchored = anchors.verify(rows, checkpoints)
        if anchored.ok:
            lines.append(f"{service}: checkpoints OK ({anchored}; {path})")
        else:
            lines.append(f"{service}: FAILED checkpoints: {anchored}")
            ok = False
    if tables.rows:
        counted = ", ".join(f"{t} {n}" for t, n in tables.rows.items())
        if tables.ok:
            lines.append(f"{service}: integrity OK ({counted})")
        for f in tables.findings:
            lines.append(f"{service}: FAILED integrity: {f}")
            ok = False
    return ok, lines


def run(args, settings=None) -> int:
    from aicc.platform import anchors, audit
    from aicc.platform.settings import ConfigError, get_settings

    settings = settings or get_settings()
    try:
        key = audit.load_key(settings)
        anchor_key = anchors.load_key(settings)
    except ConfigError as e:
        print(f"error: {e}")
        return 2
    failed = False
    for service in args.service or SERVICES:
        try:
            ok, lines = check_service(service, settings, key, anchor_key)
        except Exception as e:  # noqa: BLE001 - unreachable database, table missing: report and go on
            print(
                f"{service}: ERROR cannot read the audit log ({type(e).__name__}: {str(e).splitlines()[0]})"
            )
            failed = True
            continue
        for line in lines:
            print(line)
        failed = failed or not ok
    return 1 if failed else 0
