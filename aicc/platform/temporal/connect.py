"""The one way an aicc process reaches Temporal (intake's cycle gateway, the worker): the payload
codec's data converter, trace context through Temporal (the OpenTelemetry plugin), and mTLS to the
frontend when configured (``AICC_TEMPORAL_TLS_*``; a real cluster requires it)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig

from aicc.platform import telemetry
from aicc.platform.settings import ConfigError, Settings
from aicc.platform.temporal.codec import CodecKeys, data_converter, keys_from_settings

log = logging.getLogger("aicc.temporal")

_FILES = {
    "temporal_tls_cert_file": "AICC_TEMPORAL_TLS_CERT_FILE",
    "temporal_tls_key_file": "AICC_TEMPORAL_TLS_KEY_FILE",
    "temporal_tls_ca_file": "AICC_TEMPORAL_TLS_CA_FILE",
}


def _read(settings: Settings, name: str) -> bytes | None:
    path = getattr(settings, name)
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{_FILES[name]}: {p} does not exist")
    return p.read_bytes()


def tls_config(settings: Settings) -> TLSConfig | None:
    """mTLS options for the Temporal client from the settings; None when none is set (plaintext: the
    dev server). A client certificate without its key (or the reverse), or a CA or server name
    without a client certificate, is refused naming what to set."""
    cert_set, key_set = bool(settings.temporal_tls_cert_file), bool(settings.temporal_tls_key_file)
    others = [
        var
        for var, value in (
            ("AICC_TEMPORAL_TLS_CA_FILE", settings.temporal_tls_ca_file),
            ("AICC_TEMPORAL_TLS_SERVER_NAME", settings.temporal_tls_server_name),
        )
        if value
    ]
    if not (cert_set or key_set):
        if others:
            raise ConfigError(
                f"incomplete mTLS configuration for Temporal: {', '.join(others)} set without a client "
                "certificate: also set AICC_TEMPORAL_TLS_CERT_FILE and AICC_TEMPORAL_TLS_KEY_FILE"
            )
        return None
    if cert_set != key_set:
        missing = "AICC_TEMPORAL_TLS_KEY_FILE" if cert_set else "AICC_TEMPORAL_TLS_CERT_FILE"
        raise ConfigError(f"incomplete mTLS configuration for Temporal: also set {missing}")
    return TLSConfig(
        client_cert=_read(settings, "temporal_tls_cert_file"),
        client_private_key=_read(settings, "temporal_tls_key_file"),
        server_root_ca_cert=_read(settings, "temporal_tls_ca_file"),
        domain=settings.temporal_tls_server_name or None,
    )


async def connect(
    settings: Settings, *, attempts: int = 60, keys: CodecKeys | None = None, tracing: bool = True
) -> Client:
    """A Temporal client with the codec (keys from the settings unless given), the OpenTelemetry
    plugin and mTLS when configured; retries while the server starts. A configuration it refuses
    (no codec keys outside dev mode, half an mTLS setup) raises :class:`ConfigError` at once.

    ``tracing=False`` leaves the OpenTelemetry plugin out: a worker built on a client with it needs
    the process's replay-safe tracer provider (``telemetry.configure(..., replay_safe=True)``), which
    a test running services in the same process does not have."""
    converter = data_converter(keys or keys_from_settings(settings))
    tls = tls_config(settings)
    delay = 0.2
    for i in range(attempts):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=converter,
                tls=tls or False,
                plugins=telemetry.temporal_plugins() if tracing else [],
            )
        except Exception as e:  # noqa: BLE001 - server not up yet
            if i == attempts - 1:
                raise
            log.info(
                "Temporal at %s not reachable yet (%s); retrying", settings.temporal_address, type(e).__name__
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)
    raise RuntimeError("unreachable")
