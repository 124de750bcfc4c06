"""Autogenerate a migration for one service from its store models:
``python tools/makemigration.py intake "add materials"``.

Diffs the models against a scratch SQLite database upgraded to head; revision ids are
date-prefixed so they sort in the order they were written.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from alembic import command

from aicc.cli.registry import migrations_dir
from aicc.platform.db import alembic_config, migrate


def main() -> int:
    service, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{Path(d) / 'scratch.db'}"
        migrate(migrations_dir(service), url)
        cfg = alembic_config(migrations_dir(service), url, service=service)
        rev = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
