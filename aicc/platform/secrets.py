"""Generated secrets for embedded dev mode (``aicc up``) only, kept under ``data_dir/secrets`` (0600).
A deployment supplies every secret from a file or the environment instead."""

from __future__ import annotations

import secrets
from pathlib import Path


def dev_secret(data_dir: Path, name: str, *, nbytes: int = 24) -> str:
    """Embedded dev mode only: a generated secret kept in the data directory (0600)."""
    path = data_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value)
    path.chmod(0o600)
    return value
