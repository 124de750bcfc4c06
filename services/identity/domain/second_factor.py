"""Second factor for officials: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps).

A code is accepted for its own step and one step either side (clock drift); the accepted step is
remembered and no code of that step or an earlier one is accepted again (RFC 6238 §5.2: replay).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from pathlib import Path

import pyotp

STEP_SECONDS = 30
ISSUER = "AICC Shandong"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def matching_step(secret: str, code: str, now: datetime, window: int = 1) -> int | None:
    code = code.replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):  # compare_digest takes ASCII only
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(now)
    found = None
    for step in range(current - window, current + window + 1):  # compare all: no early exit
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step if found is None else found
    return found


def parse_secret(text: str) -> str:
    """A base32 secret, or the secret of an ``otpauth://`` URI."""
    text = text.strip()
    if text.startswith("otpauth://"):
        return pyotp.parse_uri(text).secret
    return text.replace(" ", "").upper()


def read_secret_file(path: Path) -> str:
    return parse_secret(path.read_text())


def dev_secret_file(data_dir: Path, name: str) -> str:
    """Embedded dev mode only: a TOTP secret kept in data_dir/secrets/<name> (0600)."""
    path = data_dir / "secrets" / name
    if path.exists():
        return read_secret_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def admin_secrets_dir(settings) -> Path | None:
    """Where the bootstrap administrators' password and TOTP files are: AICC_BOOTSTRAP_ADMINS_DIR,
    else (dev mode) data_dir/secrets; None otherwise (no administrator is bootstrapped)."""
    if settings.bootstrap_admins_dir:
        return Path(settings.bootstrap_admins_dir)
    if settings.dev_mode:
        return Path(settings.data_dir) / "secrets"
    return None


def admin_totp_secret(settings, role: str, *, create: bool = False) -> str | None:
    """A bootstrap administrator's TOTP secret (``<role>-totp``); generated in dev mode on
    ``create`` (identity's start) so tools (aicc demo) can compute codes."""
    folder = admin_secrets_dir(settings)
    if folder is None:
        return None
    path = folder / f"{role}-totp"
    if path.exists():
        return read_secret_file(path)
    if create and settings.dev_mode and not settings.bootstrap_admins_dir:
        return dev_secret_file(Path(settings.data_dir), f"{role}-totp")
    return None
