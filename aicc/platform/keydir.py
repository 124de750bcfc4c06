"""A directory of keys, one file per key id (a mounted Kubernetes Secret, or a folder in dev mode):
which files are keys, whether the set changed, and which key signs or encrypts.

Used by the access-token signer (``auth.py``) and the Temporal payload codec
(``temporal/codec.py``): both rotate the same way — add a key (it is known to every reader at
once, and becomes the one that writes once its file is ``activation_delay`` old), keep the old one
as long as anything written with it must still be read, then remove it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def key_files(keys_dir: Path) -> list[Path]:
    """Key files sorted by name; skips dot-entries (a Kubernetes Secret volume has ``..data`` etc.)."""
    if not keys_dir.exists():
        return []
    return sorted(p for p in keys_dir.iterdir() if not p.name.startswith(".") and p.is_file())


def fingerprint(files: list[Path]) -> tuple:
    """Changes whenever a key file is added, removed or rewritten (names, sizes, mtimes)."""
    return tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def newest_ready(
    files: list[Path], activation_delay: float, current: str | None, kid_of: Callable[[Path], str]
) -> str:
    """The lexically last key that has been in the directory for ``activation_delay`` seconds (every
    reader has had time to learn it before anything is written with it); else the current key while
    it is still there; else the lexically last (first start). ``files`` must not be empty."""
    cutoff = time.time() - activation_delay
    ready = [f for f in files if f.stat().st_mtime <= cutoff]
    if ready:
        return kid_of(ready[-1])
    if current and current in {kid_of(f) for f in files}:
        return current
    return kid_of(files[-1])
