"""Personal data at rest and in text: SM4-GCM field encryption (GB/T 32907 block cipher in GCM,
the mode GB/T 36624 / RFC 8998 name for SM4), masking, and redaction for logs.

- Each value gets a fresh random 96-bit nonce; the 128-bit GCM tag detects any change. The
  optional associated data binds a ciphertext to its place (e.g. ``users.phone:<user_id>``) so a
  value copied into another row does not decrypt.
- Stored form: ``sm4gcm1:`` + base64url(nonce ‖ ciphertext ‖ tag) — ASCII, fits a VARCHAR.
- The key is 16 bytes from ``AICC_SM4_KEY_FILE`` (32 hex characters or 16 raw bytes); embedded
  dev mode generates one in ``data_dir/secrets/sm4-key`` (0600). Losing the key loses the data.
- ``FieldCipher.seal``/``unseal`` are the same construction on bytes, without the text form (the
  Temporal payload codec, ``aicc/platform/temporal/codec.py``).
- ``cryptography`` (≥ 44, checked with 50) supports SM4 in GCM mode through OpenSSL, so no
  encrypt-then-MAC construction is needed.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "sm4gcm1:"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 16


class DecryptionError(Exception):
    """The value was changed, belongs elsewhere (associated data) or was encrypted with another key."""


class FieldCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("an SM4 key is 16 bytes")
        self._key = key

    def seal(self, data: bytes, aad: bytes = b"") -> bytes:
        """nonce ‖ ciphertext ‖ tag of ``data``, authenticated together with ``aad``."""
        nonce = os.urandom(NONCE_BYTES)
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if aad:
            enc.authenticate_additional_data(aad)
        ct = enc.update(data) + enc.finalize()
        return nonce + ct + enc.tag

    def unseal(self, raw: bytes, aad: bytes = b"") -> bytes:
        """The data :meth:`seal` sealed with the same key and ``aad``; else :class:`DecryptionError`."""
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("value too short")
        nonce, ct, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if aad:
            dec.authenticate_additional_data(aad)
        try:
            return dec.update(ct) + dec.finalize()
        except InvalidTag as e:
            raise DecryptionError("authentication failed") from e

    def encrypt(self, plaintext: str, aad: str = "") -> str:
        return PREFIX + base64.urlsafe_b64encode(self.seal(plaintext.encode(), aad.encode())).decode()

    def decrypt(self, token: str, aad: str = "") -> str:
        if not token.startswith(PREFIX):
            raise DecryptionError("not an SM4-GCM value")
        try:
            raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode())
        except (ValueError, TypeError) as e:
            raise DecryptionError("malformed value") from e
        return self.unseal(raw, aad.encode()).decode()


def parse_key(data: bytes) -> bytes:
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    if len(data) == KEY_BYTES:
        return data
    raise ValueError("an SM4 key file holds 32 hex characters or 16 raw bytes")


def load_key(key_file: Path | None, *, data_dir: Path, dev_mode: bool) -> bytes:
    if key_file:
        return parse_key(Path(key_file).read_bytes())
    if not dev_mode:
        raise RuntimeError(
            "AICC_SM4_KEY_FILE is required outside dev mode (personal data is encrypted at rest)"
        )
    return dev_key_file(data_dir / "secrets" / "sm4-key")


def dev_key_file(path: Path) -> bytes:
    """Dev mode: the key in ``path``, generated (0600) when it does not exist yet.

    Several processes (identity and review; intake and the worker) may start at once on a fresh
    data_dir: the key is written completely under a private name, then linked into place; whoever
    links second reads the winner's key, so every process of the installation shares one key."""
    if path.exists():
        return parse_key(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return parse_key(path.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return key


def cipher_from_settings(settings) -> FieldCipher:
    return FieldCipher(
        load_key(settings.sm4_key_file, data_dir=settings.data_dir, dev_mode=settings.dev_mode)
    )


# ---------------------------------------------------------------- masking and redaction


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str) -> str:
    """``zhangsan@example.com`` → ``z***@example.com`` (the domain stays: it says little)."""
    local, at, domain = email.partition("@")
    if not at:
        return "*" * len(email)
    return (local[:1] + "***" if local else "***") + "@" + domain


def mask_contact(contact: str) -> str:
    """A phone number or an e-mail address, masked for anyone who need not reach the person:
    e-mail → :func:`mask_email`; anything else (mobile, landline with area code) → keeps at most
    its first 3 and last 4 digits like :func:`mask_phone`, other characters masked too."""
    contact = contact.strip()
    if not contact:
        return ""
    if "@" in contact:
        return mask_email(contact)
    return mask_phone(contact)


def mask_id_number(id_number: str) -> str:
    """``370102199001011234`` → ``370102********1234``."""
    if not id_number:
        return ""
    if len(id_number) < 11:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


# Bounded by anything but an ASCII letter or digit, so hex trace ids and longer numbers are left
# alone while "电话13812345678" is caught. An all-digit USCC also matches the ID pattern and is
# masked in logs too (harmless).
_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """Masks mainland mobile numbers and 18-character ID numbers anywhere in ``text``."""
    if not text:
        return text
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
