"""mTLS between the services and their clients: identity in process with a throw-away CA; a client
with a certificate from that CA gets through, one without a certificate, with a certificate from
another CA, or in plaintext does not; outside dev mode a service without certificates (or without
an audit key) refuses to start."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aicc.cli.registry import spec
from aicc.identity.v1 import identity_pb2 as pb
from aicc.identity.v1 import identity_pb2_grpc
from aicc.platform.clients import Clients, open_channel
from aicc.platform.server import ServiceHost
from aicc.platform.settings import ConfigError, Settings
from tests.support.suite import InProcessSuite, free_port, suite_settings

NOW = datetime.now(UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(minutes=5))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca, cn: str, *, server: bool):
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(minutes=5))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("aicc-identity"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    return key, b.sign(ca_key, hashes.SHA256())


def write_pki(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    ca = make_ca("aicc test CA")
    other_ca = make_ca("someone else's CA")
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        files[name] = d / name
        files[name].write_bytes(data)

    put("ca.pem", ca[1].public_bytes(serialization.Encoding.PEM))
    for label, (key, cert) in {
        "server": make_leaf(ca, "aicc-identity", server=True),
        "client": make_leaf(ca, "aicc-worker", server=False),
        "stranger": make_leaf(other_ca, "aicc-worker", server=False),
    }.items():
        put(f"{label}.pem", cert.public_bytes(serialization.Encoding.PEM))
        put(f"{label}-key.pem", _pem_key(key))
    return files


def tls_settings(pki: dict[str, Path], who: str = "server", **extra) -> dict:
    return {
        "tls_cert_file": pki[f"{who}.pem"],
        "tls_key_file": pki[f"{who}-key.pem"],
        "tls_ca_file": pki["ca.pem"],
        **extra,
    }


@pytest.fixture
async def tls_identity(tmp_path):
    pki = write_pki(tmp_path / "pki")
    settings = suite_settings(tmp_path / "data", **tls_settings(pki))
    async with InProcessSuite(settings, services=["identity"]) as s:
        yield s, pki


async def _call(channel: grpc.aio.Channel, s: InProcessSuite):
    """A public RPC (no token needed): reaching the servicer at all is what is tested."""
    return await identity_pb2_grpc.IdentityServiceStub(channel).GetPublicKeys(
        pb.GetPublicKeysRequest(), timeout=5
    )


async def test_client_with_a_certificate_from_the_ca_gets_through(tls_identity, tmp_path):
    s, pki = tls_identity
    client = Settings(data_dir=tmp_path, **tls_settings(pki, "client"))  # not dev mode: TLS required
    ch = open_channel(s.settings.address("identity"), settings=client)
    try:
        assert (await _call(ch, s)).keys
    finally:
        await ch.close()
    # The way services and the worker dial each other (Clients), with a certificate name override.
    clients = Clients(client.model_copy(update={"identity_address": f"127.0.0.1:{s.hosts['identity'].port}"}))
    try:
        assert (await clients.identity.GetPublicKeys(pb.GetPublicKeysRequest(), timeout=5)).keys
    finally:
        await clients.close()
    named = client.model_copy(
        update={
            "tls_server_name": "aicc-identity",
            "identity_address": f"localhost:{s.hosts['identity'].port}",
        }
    )
    ch = open_channel(named.address("identity"), settings=named)
    try:
        assert (await _call(ch, s)).keys
    finally:
        await ch.close()


def _refused(exc: grpc.aio.AioRpcError) -> bool:
    return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


async def test_client_without_a_certificate_is_refused(tls_identity):
    s, pki = tls_identity
    creds = grpc.ssl_channel_credentials(root_certificates=pki["ca.pem"].read_bytes())
    async with grpc.aio.secure_channel(s.settings.address("identity"), creds) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _call(ch, s)
    assert _refused(e.value), e.value


async def test_client_with_a_certificate_from_another_ca_is_refused(tls_identity):
    s, pki = tls_identity
    creds = grpc.ssl_channel_credentials(
        root_certificates=pki["ca.pem"].read_bytes(),
        private_key=pki["stranger-key.pem"].read_bytes(),
        certificate_chain=pki["stranger.pem"].read_bytes(),
    )
    async with grpc.aio.secure_channel(s.settings.address("identity"), creds) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _call(ch, s)
    assert _refused(e.value), e.value


async def test_plaintext_client_is_refused(tls_identity):
    s, _ = tls_identity
    async with grpc.aio.insecure_channel(s.settings.address("identity")) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _call(ch, s)
    assert _refused(e.value), e.value


async def test_client_refuses_a_server_outside_its_ca(tls_identity, tmp_path):
    s, _ = tls_identity
    other = write_pki(tmp_path / "other-pki")  # a client trusting only another CA
    client = Settings(data_dir=tmp_path, **tls_settings(other, "client"))
    ch = open_channel(s.settings.address("identity"), settings=client)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _call(ch, s)
        assert _refused(e.value), e.value
    finally:
        await ch.close()


def test_service_without_dev_mode_and_without_certificates_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="AICC_TLS_CERT_FILE"):
        ServiceHost(spec("identity"), Settings(data_dir=tmp_path, identity_port=free_port()))
    pki = write_pki(tmp_path / "pki")
    partial = {"tls_cert_file": pki["server.pem"]}
    with pytest.raises(ConfigError, match="AICC_TLS_KEY_FILE, AICC_TLS_CA_FILE"):
        ServiceHost(spec("identity"), Settings(data_dir=tmp_path, **partial))
    with pytest.raises(ConfigError, match="AICC_AUDIT_KEY_FILE"):  # certificates but no audit key
        ServiceHost(spec("identity"), Settings(data_dir=tmp_path, **tls_settings(pki)))
    audit_key = tmp_path / "audit.key"
    audit_key.write_bytes(b"0123456789abcdef0123456789abcdef")
    with pytest.raises(ConfigError, match="AICC_AUDIT_ANCHOR_KEY_FILE"):  # … but no checkpoint key
        ServiceHost(
            spec("identity"), Settings(data_dir=tmp_path, audit_key_file=audit_key, **tls_settings(pki))
        )
    # A client (the worker's Clients) outside dev mode without certificates refuses to dial.
    with pytest.raises(ConfigError, match="plaintext"):
        Clients(Settings(data_dir=tmp_path)).stub("identity")


async def test_production_settings_start_with_mtls(tmp_path):
    """No dev mode: certificates and an audit key given — the service serves over mTLS only."""
    from aicc.funding.v1 import funding_pb2, funding_pb2_grpc

    pki = write_pki(tmp_path / "pki")
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    anchor_key = tmp_path / "anchor.key"
    anchor_key.write_bytes(b"fedcba9876543210fedcba9876543210\n")
    settings = suite_settings(
        tmp_path / "data",
        dev_mode=False,
        audit_key_file=key_file,
        audit_anchor_key_file=anchor_key,
        **tls_settings(pki),
    )
    async with InProcessSuite(settings, services=["funding"]) as s:
        assert s.hosts["funding"].runtime.audit_key == b"0123456789abcdef0123456789abcdef"
        client = Settings(data_dir=tmp_path, **tls_settings(pki, "client"))
        ch = open_channel(settings.address("funding"), settings=client)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as e:  # reached the service: it asks for a token
                await funding_pb2_grpc.FundingServiceStub(ch).GetBudget(
                    funding_pb2.GetBudgetRequest(), timeout=5
                )
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await ch.close()
        async with grpc.aio.insecure_channel(settings.address("funding")) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await funding_pb2_grpc.FundingServiceStub(plain).GetBudget(
                    funding_pb2.GetBudgetRequest(), timeout=5
                )
            assert _refused(e.value)
