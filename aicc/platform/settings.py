"""One settings object per process, from ``AICC_*`` environment variables (Helm values map onto them)."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("identity", "intake", "review", "funding", "supervision")


class ConfigError(RuntimeError):
    """The process is configured in a way it refuses to run with (the message says what to set)."""


DEFAULT_PORTS: dict[str, int] = {
    "identity": 50051,
    "intake": 50052,
    "review": 50053,
    "funding": 50054,
    "supervision": 50055,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AICC_", extra="ignore")

    # Embedded laptop mode (``aicc up``): plaintext gRPC, generated dev keys. Never in a deployment.
    dev_mode: bool = False
    data_dir: Path = Path(".aicc-data")
    policy_dir: Path | None = None
    policy_name: str = "shandong-2026"

    instance_scope: str = Field(default="province", pattern="^(province|city)$")
    instance_city_code: str = "370000"
    province_intake_address: str | None = None

    identity_database_url: str | None = None
    intake_database_url: str | None = None
    review_database_url: str | None = None
    funding_database_url: str | None = None
    supervision_database_url: str | None = None
    # Or read the URL from a file (a mounted Secret), e.g. AICC_INTAKE_DATABASE_URL_FILE.
    identity_database_url_file: Path | None = None
    intake_database_url_file: Path | None = None
    review_database_url_file: Path | None = None
    funding_database_url_file: Path | None = None
    supervision_database_url_file: Path | None = None

    identity_port: int = DEFAULT_PORTS["identity"]
    intake_port: int = DEFAULT_PORTS["intake"]
    review_port: int = DEFAULT_PORTS["review"]
    funding_port: int = DEFAULT_PORTS["funding"]
    supervision_port: int = DEFAULT_PORTS["supervision"]

    identity_address: str | None = None
    intake_address: str | None = None
    review_address: str | None = None
    funding_address: str | None = None
    supervision_address: str | None = None

    # Loopback unless told otherwise (a laptop's `aicc up` is not on the network); the chart sets
    # 0.0.0.0 in pods (values `listenHost`).
    listen_host: str = "127.0.0.1"
    # A plaintext port serving only grpc.health.v1 (kubelet gRPC probes cannot do mTLS); 0 = off.
    health_port: int = 0
    # Readiness sees failing writes (aicc/platform/readiness.py): a tiny write every this many seconds;
    # NOT_SERVING while it fails (0 = no probe). A probe that takes longer than the timeout failed.
    write_probe_seconds: float = Field(default=5.0, ge=0)
    write_probe_timeout_seconds: float = Field(default=10.0, gt=0)
    grace_seconds: float = 5.0

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "aicc-cycle"
    # Temporal security (aicc/platform/temporal/): every payload SM4-GCM encrypted and authenticated
    # with keys from this directory (file name = key id; 32 hex characters or 16 raw bytes; the
    # newest encrypts once it is 10 minutes old, all decrypt). Required outside dev mode; dev mode generates
    # data_dir/secrets/temporal-codec/. Mounted into intake and the worker only.
    temporal_codec_keys_dir: Path | None = None
    # mTLS to the Temporal frontend (PEM): client certificate and key together; the CA of the
    # frontend's certificate (system roots when unset); the name it carries when not the dialled host.
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_ca_file: Path | None = None
    temporal_tls_server_name: str | None = None
    # ``aicc codec-server``: where it listens (loopback unless an operator says otherwise), and the
    # origins (comma-separated, e.g. the Temporal Web UI's http://127.0.0.1:8233) allowed by CORS.
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = 8089
    codec_server_cors_origins: str = ""

    # Access tokens: identity signs with Ed25519 keys from this directory (file name = kid; the newest
    # file signs, all verify). Dev mode generates one under data_dir when empty.
    token_signing_keys_dir: Path | None = None
    token_ttl_seconds: int = 900
    token_issuer: str = "aicc-identity"  # noqa: S105 - the JWT "iss" claim, not a secret

    # mTLS between services and the worker (PEM files; a Kubernetes Secret / cert-manager volume).
    # Without them only dev mode may talk plaintext; any other process refuses to start.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None
    # Name the peer's certificate must carry when it differs from the dialled host (e.g. addresses
    # are IPs but certificates are issued to ``aicc-identity.<ns>.svc``).
    tls_server_name: str | None = None

    # Key of the audit log's HMAC-SM3 chain (aicc/platform/audit.py). Dev mode generates one.
    audit_key_file: Path | None = None
    # Signed checkpoints of each chain's head (aicc/platform/anchors.py), kept outside the database:
    # this directory (default data_dir/audit-anchors; a volume of its own, shipped off the host), the
    # key that signs them (not the chain key; dev mode generates one), and how often.
    audit_anchor_dir: Path | None = None
    audit_anchor_key_file: Path | None = None
    audit_anchor_every_records: int = Field(default=100, ge=1)
    audit_anchor_every_seconds: float = Field(default=300.0, ge=0)

    # The workflow worker's service account (role "system").
    worker_username: str = "aicc-worker"
    worker_password: str | None = None
    worker_password_file: Path | None = None

    # The three administrators (三员分立) identity creates at start: system_admin, security_admin,
    # audit_admin, with these usernames. Each is an official: a password and a TOTP secret (base32
    # or otpauth:// URI) from files ``<role>-password`` and ``<role>-totp`` in this directory (a
    # mounted Secret); dev mode generates them under data_dir/secrets (0600) when unset. An
    # administrator whose files are missing is not created (identity logs which).
    bootstrap_admins_dir: Path | None = None
    bootstrap_system_admin_username: str = "sysadmin"
    bootstrap_security_admin_username: str = "secadmin"
    bootstrap_audit_admin_username: str = "auditadmin"

    def admin_usernames(self) -> dict[str, str]:
        """Role key → the bootstrap administrator's username."""
        return {
            "system_admin": self.bootstrap_system_admin_username,
            "security_admin": self.bootstrap_security_admin_username,
            "audit_admin": self.bootstrap_audit_admin_username,
        }

    # Login throttle, per account name and source address together: after this many failures in a
    # row each attempt waits 1, 2, 4 … seconds; this many failures lock the pair for this long.
    login_free_failures: int = 3
    login_max_failures: int = 10
    login_lockout_minutes: float = 30.0
    # Peers (IP addresses, comma-separated) whose x-forwarded-for header names the real source
    # (an ingress or gateway in front of identity); anyone else's header is ignored.
    trusted_proxies: str = ""
    # Personal data (phone, ID number) and TOTP secrets are encrypted at rest with SM4-GCM under
    # this 16-byte key (32 hex characters or 16 raw bytes); dev mode generates data_dir/secrets/sm4-key.
    sm4_key_file: Path | None = None

    # The treasury funding pays through: "fake" (a stand-in; the only adapter yet). The fake keeps its
    # orders, as a real treasury does, across restarts in this file (default data_dir/treasury-fake.sqlite3).
    treasury_adapter: str = Field(default="fake", pattern="^fake$")
    treasury_fake_file: Path | None = None

    def database_url(self, service: str) -> str:
        url = getattr(self, f"{service}_database_url")
        if url:
            return url
        url_file = getattr(self, f"{service}_database_url_file")
        if url_file:  # a mounted Secret: the URL (with its password) never sits in the environment
            return Path(url_file).read_text(encoding="utf-8").strip()
        return f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def port(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def address(self, service: str) -> str:
        return getattr(self, f"{service}_address") or f"127.0.0.1:{self.port(service)}"

    def resolved_worker_password(self) -> str | None:
        if self.worker_password:
            return self.worker_password
        if self.worker_password_file and self.worker_password_file.exists():
            return self.worker_password_file.read_text().strip()
        dev_file = self.data_dir / "secrets" / "worker-password"
        if self.dev_mode and dev_file.exists():
            return dev_file.read_text().strip()
        return None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
