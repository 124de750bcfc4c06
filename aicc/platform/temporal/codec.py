"""The payload codec: every payload that leaves an aicc process for Temporal is SM4-GCM encrypted and
authenticated, so Temporal's history, Web UI and CLI show ciphertext, and a payload made by anyone
without the key — an update forged with ``temporal workflow update execute`` — is refused.

Wire form of an encoded payload (the inner payload, serialised, is the plaintext)::

    metadata  encoding=binary/sm4-gcm  encryption-key-id=<kid>  [aicc-workflow=<namespace>/<workflow id>]
    data      nonce(12) ‖ ciphertext ‖ tag(16)      (``FieldCipher.seal``, aicc/platform/crypto.py)

The associated data binds the ciphertext to its key id and to the workflow it was written for
(Temporal's serialization context: a start, update or query argument, an activity's input or result
carry their workflow's id): a ciphertext copied out of one year's history into another workflow is
refused, and so is one whose binding was edited.

Keys: one file per key id in ``AICC_TEMPORAL_CODEC_KEYS_DIR`` (a mounted Secret), 32 hex characters
or 16 raw bytes. The lexically last key encrypts once its file is ``ACTIVATION_DELAY`` old (so every
process has read it first: a Secret reaches pods within a minute or two); every key decrypts.
The directory is re-read when it changes. Name keys by date (``2027-01-01``); remove a key only when
no workflow that used it is open or will ever be replayed. Dev mode generates ``0000-dev`` under
``data_dir/secrets/temporal-codec/``.

Refusal: a payload that is not ours (another encoding, an unknown key id, a failed tag, another
workflow's binding) decodes to a *refused* payload that no converter turns into a value, rather than
raising from the codec. Raising would fail the whole workflow activation — the worker would retry
the workflow task, forged update and all — whereas a refused payload fails only where its value is
needed: an update's argument → the update is rejected (before its validator) and the workflow goes
on; a signal's → the signal is dropped; an activity's result → the workflow task fails and is
retried until the key arrives (a rotation still propagating); a query's → the query fails. On a
client (intake) a refused result raises :class:`PayloadRefused`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from aicc.platform.crypto import DecryptionError, FieldCipher, dev_key_file, parse_key
from aicc.platform.keydir import fingerprint, key_files, newest_ready
from aicc.platform.settings import ConfigError, Settings

ENCODING = b"binary/sm4-gcm"
REFUSED_ENCODING = "binary/aicc-refused"
KEY_ID = "encryption-key-id"
BINDING = "aicc-workflow"
AAD_PREFIX = b"aicc-temporal-payload/v1"
DEV_KEY_ID = "0000-dev"
# A new key encrypts only once every process can have read it (Kubernetes updates a mounted Secret
# within about a minute and a half); until then the previous key goes on encrypting.
ACTIVATION_DELAY = 600.0
# How often the keys directory is looked at for a change (plus whenever an unknown key id arrives).
RELOAD_INTERVAL = 5.0

log = logging.getLogger("aicc.temporal.codec")

MISSING_KEYS = (
    "AICC_TEMPORAL_CODEC_KEYS_DIR is required outside dev mode: every Temporal payload is encrypted "
    "with the SM4 keys in that directory (file name = key id)"
)


class PayloadRefused(ValueError):
    """A payload that this installation did not encrypt, or that was altered or moved."""


class CodecKeys:
    """The key ring: key id → cipher, re-read from the directory when it changes."""

    def __init__(self, keys_dir: Path, *, activation_delay: float = ACTIVATION_DELAY) -> None:
        self.keys_dir = keys_dir
        self.activation_delay = activation_delay
        self._ciphers: dict[str, FieldCipher] = {}
        self._fingerprint: tuple = ()
        self._current: str | None = None
        self._checked = 0.0
        self.reload()
        if not self._ciphers:
            raise ConfigError(f"no Temporal codec keys in {keys_dir} (AICC_TEMPORAL_CODEC_KEYS_DIR)")

    def reload(self) -> None:
        """Re-reads the directory if it changed; an empty or vanished directory keeps the keys held."""
        self._checked = time.monotonic()
        files = key_files(self.keys_dir)
        if not files:
            return
        fp = fingerprint(files)
        if fp != self._fingerprint:
            try:
                ciphers = {f.name: _cipher(f) for f in files}
            except ValueError as e:
                if not self._ciphers:
                    raise ConfigError(str(e)) from None
                log.error(
                    "Temporal codec keys in %s unreadable (%s); keeping the keys held", self.keys_dir, e
                )
                return
            self._ciphers, self._fingerprint = ciphers, fp
        self._current = newest_ready(files, self.activation_delay, self._current, lambda f: f.name)

    def _fresh(self) -> None:
        if time.monotonic() - self._checked >= RELOAD_INTERVAL:
            self.reload()

    def current(self) -> tuple[str, FieldCipher]:
        """The key id and cipher that encrypt now."""
        self._fresh()
        if self._current is None:  # the constructor refuses an empty ring; never here
            raise ConfigError(f"no Temporal codec key to encrypt with in {self.keys_dir}")
        return self._current, self._ciphers[self._current]

    def get(self, kid: str) -> FieldCipher | None:
        """The cipher of ``kid``; an unknown id makes the directory be read again once."""
        self._fresh()
        if kid not in self._ciphers and time.monotonic() - self._checked > 0.5:
            self.reload()
        return self._ciphers.get(kid)

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)


def _cipher(path: Path) -> FieldCipher:
    try:
        return FieldCipher(parse_key(path.read_bytes()))
    except (OSError, ValueError) as e:
        raise ValueError(f"Temporal codec key {path}: {e}") from None


def keys_from_settings(settings: Settings) -> CodecKeys:
    """The configured key ring; in dev mode without a directory, the generated dev key."""
    if settings.temporal_codec_keys_dir:
        return CodecKeys(Path(settings.temporal_codec_keys_dir))
    if not settings.dev_mode:
        raise ConfigError(MISSING_KEYS)
    keys_dir = settings.data_dir / "secrets" / "temporal-codec"
    dev_key_file(keys_dir / DEV_KEY_ID)
    return CodecKeys(keys_dir)


def _aad(kid: str, binding: str) -> bytes:
    return b"|".join((AAD_PREFIX, kid.encode(), binding.encode()))


def refused(reason: str) -> Payload:
    """The stand-in for a payload that is not ours: no converter makes a value of it."""
    return Payload(metadata={"encoding": REFUSED_ENCODING.encode()}, data=reason.encode())


@dataclass(frozen=True)
class Sm4GcmCodec(PayloadCodec, WithSerializationContext):
    """Temporal payload codec; ``binding`` is ``<namespace>/<workflow id>`` when the SDK gives the
    workflow the payloads belong to, else empty (the codec server reading any workflow's payloads)."""

    keys: CodecKeys
    binding: str = ""

    def with_context(self, context: SerializationContext) -> Sm4GcmCodec:
        binding = ""
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            if context.workflow_id:
                binding = f"{context.namespace}/{context.workflow_id}"
        return Sm4GcmCodec(self.keys, binding)

    def seal(self, payload: Payload) -> Payload:
        kid, cipher = self.keys.current()
        metadata = {"encoding": ENCODING, KEY_ID: kid.encode()}
        if self.binding:
            metadata[BINDING] = self.binding.encode()
        return Payload(
            metadata=metadata, data=cipher.seal(payload.SerializeToString(), _aad(kid, self.binding))
        )

    def open(self, payload: Payload) -> Payload:
        """The payload :meth:`seal` sealed; :class:`PayloadRefused` for anything else."""
        if payload.metadata.get("encoding") != ENCODING:
            raise PayloadRefused("not encrypted by this installation's Temporal codec")
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        binding = payload.metadata.get(BINDING, b"").decode(errors="replace")
        if self.binding and binding and binding != self.binding:
            raise PayloadRefused(f"written for workflow {binding}, not {self.binding}")
        cipher = self.keys.get(kid)
        if cipher is None:
            raise PayloadRefused(f"encrypted with unknown key id {kid!r}")
        try:
            inner = Payload.FromString(cipher.unseal(payload.data, _aad(kid, binding)))
        except (DecryptionError, DecodeError):
            raise PayloadRefused(f"failed authentication under key {kid!r}") from None
        return inner

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            try:
                out.append(self.open(p))
            except PayloadRefused as e:
                out.append(refused(str(e)))
        return out


class RefusedPayloadConverter(EncodingPayloadConverter):
    """Turns a refused payload into :class:`PayloadRefused` wherever its value is asked for."""

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise PayloadRefused("payload refused: " + payload.data.decode(errors="replace"))


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, plus the refusal of refused payloads."""

    def __init__(self) -> None:
        super().__init__(
            RefusedPayloadConverter(), *DefaultPayloadConverter.default_encoding_payload_converters
        )


def data_converter(keys: CodecKeys) -> DataConverter:
    """Payloads through the codec; failure messages and stack traces too (they may quote an
    enterprise or an opinion): a client with this converter reads them, the Web UI does not."""
    return DataConverter(
        payload_converter_class=PayloadConverter,
        payload_codec=Sm4GcmCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
