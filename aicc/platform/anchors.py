"""Signed checkpoints of each audit chain's head, kept OUTSIDE the service's database, so that a chain
cut short (its newest records deleted, or all of them) or a database replaced by an older copy is
caught: the chain alone verifies in each of these cases, the checkpoints do not.

A checkpoint is one JSON line appended to ``<AICC_AUDIT_ANCHOR_DIR>/<service>.anchors.jsonl``
(default ``data_dir/audit-anchors``; in a deployment a volume of its own, shipped off the host by the
operators — see docs/deploy.md)::

    {"n": 7, "service": "funding", "seq": 1234, "mac": "<head MAC>", "at": "…Z", "sig": "<hex>"}

``n`` counts the service's checkpoints from 1 (a line removed from the middle of the file shows as a
gap); ``sig`` = HMAC-SM3(checkpoint key, canonical JSON of the other fields). The checkpoint key
(``AICC_AUDIT_ANCHOR_KEY_FILE``; dev mode generates ``data_dir/secrets/audit-anchor-key``) is not the
chain key: whoever holds only the chain key cannot forge a checkpoint.

The service writes a checkpoint every ``AICC_AUDIT_ANCHOR_EVERY_RECORDS`` records or
``AICC_AUDIT_ANCHOR_EVERY_SECONDS`` seconds (whichever comes first, checked at each append) and at
shutdown. :func:`verify` checks a chain (as read from the database) against them.
"""

from __future__ import annotations

import hmac as _pyhmac
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aicc.platform.audit import MIN_KEY_BYTES, canonical_json, hmac_sm3, utc_text
from aicc.platform.clock import now_utc
from aicc.platform.settings import ConfigError, Settings

FIELDS = ("n", "service", "seq", "mac", "at")


def anchor_dir(settings: Settings) -> Path:
    return (
        Path(settings.audit_anchor_dir) if settings.audit_anchor_dir else settings.data_dir / "audit-anchors"
    )


def anchor_file(settings: Settings, service: str) -> Path:
    return anchor_dir(settings) / f"{service}.anchors.jsonl"


def load_key(settings: Settings) -> bytes:
    """The checkpoint key: ``AICC_AUDIT_ANCHOR_KEY_FILE``; in dev mode a generated one; else refuse."""
    if settings.audit_anchor_key_file:
        path = Path(settings.audit_anchor_key_file)
        if not path.is_file():
            raise ConfigError(f"checkpoint key file {path} (AICC_AUDIT_ANCHOR_KEY_FILE) does not exist")
        key = path.read_bytes().strip()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"checkpoint key in {path} is too short (at least {MIN_KEY_BYTES} bytes)")
        return key
    if settings.dev_mode:
        from aicc.platform.secrets import dev_secret

        return dev_secret(settings.data_dir, "audit-anchor-key", nbytes=32).encode()
    raise ConfigError(
        "no checkpoint key: set AICC_AUDIT_ANCHOR_KEY_FILE to a file holding the HMAC-SM3 key that "
        "signs the audit chain checkpoints (at least 16 bytes, not the chain key; AICC_DEV_MODE=true "
        "generates one for a laptop)"
    )


def sign(key: bytes, doc: Mapping[str, Any]) -> str:
    return hmac_sm3(key, canonical_json({f: doc[f] for f in FIELDS})).hex()


@dataclass(frozen=True)
class Checkpoint:
    n: int
    service: str
    seq: int
    mac: str
    at: str

    def __str__(self) -> str:
        return f"checkpoint #{self.n} (record {self.seq}, {self.at})"


# ------------------------------------------------------------------ writing


class Anchor:
    """The checkpoint writer of one service (a process appends to its own service's file only)."""

    def __init__(
        self, settings: Settings, service: str, key: bytes, *, every_records: int, every_seconds: float
    ) -> None:
        self.path = anchor_file(settings, service)
        self.service = service
        self._key = key
        self._every_records = max(1, every_records)
        self._every_seconds = max(0.0, every_seconds)
        self._lock = threading.Lock()
        last = _last_line(self.path)
        self._n = int(last.get("n", 0)) if last else 0
        self._seq = int(last.get("seq", 0)) if last else 0
        self._since = 0
        self._last_time = time.monotonic()
        self._head: tuple[int, str] | None = None

    def noted(self, seq: int, mac: str) -> bool:
        """Called after each append; writes a checkpoint when one is due. True if written."""
        self._head = (seq, mac)
        self._since += 1
        due = self._since >= self._every_records or time.monotonic() - self._last_time >= self._every_seconds
        return self.write() if due else False

    def write(self, head: tuple[int, str] | None = None, at: datetime | None = None) -> bool:
        """Appends a checkpoint of ``head`` (default: the last noted) unless it is already anchored."""
        head = head or self._head
        if head is None or head[0] <= self._seq:
            return False
        with self._lock:
            doc: dict[str, Any] = {
                "n": self._n + 1,
                "service": self.service,
                "seq": int(head[0]),
                "mac": head[1],
                "at": utc_text(at or now_utc()),
            }
            doc["sig"] = sign(self._key, doc)
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            line = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._n, self._seq = doc["n"], doc["seq"]
            self._since, self._last_time = 0, time.monotonic()
        return True


def _last_line(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        doc = json.loads(lines[-1])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


# ------------------------------------------------------------------ verifying


@dataclass(frozen=True)
class AnchorResult:
    ok: bool
    checkpoints: int  # valid checkpoints read
    newest: Checkpoint | None = None
    problem: str = ""

    def __str__(self) -> str:
        if not self.ok:
            return self.problem
        if self.newest is None:
            return "no checkpoints"
        return f"{self.checkpoints} checkpoints, newest {self.newest}"


def read_checkpoints(path: Path, service: str, key: bytes) -> tuple[list[Checkpoint], str]:
    """The file's checkpoints in order; a problem text names the first forged, altered or missing."""
    if not path.is_file():
        return [], ""
    out: list[Checkpoint] = []
    for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
            cp = Checkpoint(
                int(doc["n"]), str(doc["service"]), int(doc["seq"]), str(doc["mac"]), str(doc["at"])
            )
            good = _pyhmac.compare_digest(sign(key, doc), str(doc["sig"]))
        except (ValueError, KeyError, TypeError):
            return out, f"checkpoint line {i} of {path.name}: unreadable"
        if not good:
            return out, f"checkpoint #{cp.n} (line {i} of {path.name}): signature fails (forged or altered)"
        if cp.service != service:
            return out, f"checkpoint #{cp.n} (line {i}): for service {cp.service!r}, not {service!r}"
        expected_n = out[-1].n + 1 if out else cp.n
        if cp.n != expected_n or (out and cp.seq < out[-1].seq):
            return out, f"checkpoint #{cp.n} (line {i}): out of order after #{out[-1].n} (a line removed?)"
        out.append(cp)
    return out, ""


def verify(rows: Iterable[Mapping[str, Any]], checkpoints: list[Checkpoint]) -> AnchorResult:
    """Checks a chain (rows in ``seq`` order, already verified by ``audit.verify``) against the
    checkpoints: every checkpointed record must still be there with the MAC the checkpoint saw."""
    macs = {int(r["seq"]): str(r["mac"]) for r in rows}
    head = max(macs, default=0)
    for cp in checkpoints:
        if cp.seq > head:
            what = (
                "every record was removed"
                if head == 0
                else f"the chain ends at record {head}: its newest records were removed or the "
                "database was replaced by an older copy"
            )
            return AnchorResult(False, len(checkpoints), checkpoints[-1], f"behind {cp}: {what}")
        if not _pyhmac.compare_digest(macs.get(cp.seq, ""), cp.mac):
            return AnchorResult(
                False,
                len(checkpoints),
                checkpoints[-1],
                f"record {cp.seq} differs from {cp}: the chain was rewritten or replaced",
            )
    return AnchorResult(True, len(checkpoints), checkpoints[-1] if checkpoints else None)
