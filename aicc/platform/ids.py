"""Identifiers the services mint for their records."""

from __future__ import annotations

import base64
import uuid


def new_id(prefix: str) -> str:
    """A random identifier with a readable prefix, e.g. ``app_3kq4...`` (128 random bits)."""
    raw = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()
    return f"{prefix}_{raw}"
