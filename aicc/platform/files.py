"""Files only the service's own user may read: the data directory (0700) and the database and
ledger files in it (0600). Personal data, password hashes and audit chains live there; another
account on the host must not read them (issue 10, point 8)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("aicc.files")

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Creates ``path`` (and missing parents) 0700; an existing ``path`` is tightened to 0700 when
    ``tighten`` (the data directory), left alone otherwise (a directory the operator chose, e.g. the
    one holding a SQLite file given by URL). A directory owned by someone else (a mounted volume) is
    left as it is, with a warning."""
    existed = path.is_dir()
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if existed and not tighten:
        return path
    try:
        path.chmod(DIR_MODE)
    except PermissionError:
        log.warning("cannot restrict %s to its owner (not ours)", path)
    return path


def private_file(path: Path) -> Path:
    """Creates ``path`` empty 0600 when it does not exist, else tightens it to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        try:
            path.chmod(FILE_MODE)
        except PermissionError:
            log.warning("cannot restrict %s to its owner (not ours)", path)
    else:
        os.close(fd)
    return path
