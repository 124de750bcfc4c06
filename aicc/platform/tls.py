"""mTLS between the services and the worker: certificates from ``AICC_TLS_CERT_FILE``,
``AICC_TLS_KEY_FILE`` and ``AICC_TLS_CA_FILE`` (PEM). A server requires and verifies a client
certificate from the same CA; a client verifies the server's certificate against that CA (against
``AICC_TLS_SERVER_NAME`` when set, else the dialled host) and presents its own.

Plaintext only in dev mode (``AICC_DEV_MODE=true``, ``aicc up``) and only when no certificates are
configured; any other process without certificates refuses to start (:class:`ConfigError`).
The files are read when a server or channel is built: rotating certificates means restarting the
pods (cert-manager renews well before expiry; a rolling restart picks the new files up).
The plaintext probe port (``AICC_HEALTH_PORT``) serves only ``grpc.health.v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from aicc.platform.settings import ConfigError, Settings

_VARS = {
    "tls_cert_file": "AICC_TLS_CERT_FILE",
    "tls_key_file": "AICC_TLS_KEY_FILE",
    "tls_ca_file": "AICC_TLS_CA_FILE",
}

REFUSE_PLAINTEXT = (
    "refusing to run gRPC in plaintext outside dev mode: set AICC_TLS_CERT_FILE, AICC_TLS_KEY_FILE and "
    "AICC_TLS_CA_FILE (PEM certificate, key and CA for mTLS), or AICC_DEV_MODE=true on a laptop"
)


@dataclass(frozen=True)
class TlsMaterial:
    cert: bytes
    key: bytes
    ca: bytes
    server_name: str | None = None


def material(settings: Settings) -> TlsMaterial | None:
    """The configured certificate, key and CA; None when none is configured (partial → error)."""
    given = {name: getattr(settings, name) for name in _VARS}
    if not any(given.values()):
        return None
    missing = [_VARS[n] for n, v in given.items() if not v]
    if missing:
        raise ConfigError("incomplete mTLS configuration: also set " + ", ".join(missing))
    data = {}
    for name, path in given.items():
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{_VARS[name]}: {p} does not exist")
        data[name] = p.read_bytes()
    return TlsMaterial(
        data["tls_cert_file"], data["tls_key_file"], data["tls_ca_file"], settings.tls_server_name
    )


def require_transport(settings: Settings) -> TlsMaterial | None:
    """TLS material, or None when plaintext is allowed (dev mode without certificates); else refuses."""
    m = material(settings)
    if m is None and not settings.dev_mode:
        raise ConfigError(REFUSE_PLAINTEXT)
    return m


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """mTLS server credentials (client certificate required), or None for dev-mode plaintext."""
    m = require_transport(settings)
    if m is None:
        return None
    return grpc.ssl_server_credentials([(m.key, m.cert)], root_certificates=m.ca, require_client_auth=True)


def channel_credentials(
    settings: Settings, *, strict: bool = True
) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, str]]]:
    """(credentials, channel options) for dialling a service; (None, []) for plaintext — allowed in
    dev mode, or (``strict=False``) for an ad-hoc tool whose settings configure no certificates."""
    m = require_transport(settings) if strict else material(settings)
    if m is None:
        return None, []
    creds = grpc.ssl_channel_credentials(root_certificates=m.ca, private_key=m.key, certificate_chain=m.cert)
    options = [("grpc.ssl_target_name_override", m.server_name)] if m.server_name else []
    return creds, options
