"""The Temporal payload codec and client options, without a server: keys rotate by key id (old
payloads still decode, the newest key encrypts once it is due), anything not ours is refused, a
payload is bound to its workflow, and the mTLS options come from the settings or are refused."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from aicc.platform.settings import ConfigError, Settings
from aicc.platform.temporal import CodecKeys, PayloadRefused, data_converter, keys_from_settings, tls_config
from aicc.platform.temporal.codec import BINDING, ENCODING, KEY_ID, REFUSED_ENCODING, Sm4GcmCodec

KEY_A = "00112233445566778899aabbccddeeff"
KEY_B = "ffeeddccbbaa99887766554433221100"


@dataclass
class Signoff:
    city_code: str
    opinion: str


def _key(keys_dir: Path, kid: str, hexkey: str, *, age: float = 0.0) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / kid
    path.write_text(hexkey)
    then = time.time() - age
    os.utime(path, (then, then))


def _ctx(workflow_id: str) -> WorkflowSerializationContext:
    return WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)


async def _roundtrip(keys: CodecKeys, value: object, workflow_id: str = "cycle-1") -> list[Payload]:
    dc = data_converter(keys).with_context(_ctx(workflow_id))
    return await dc.encode([value])


async def _decode(keys: CodecKeys, payloads: list[Payload], workflow_id: str = "cycle-1") -> object:
    dc = data_converter(keys).with_context(_ctx(workflow_id))
    return (await dc.decode(payloads, [Signoff]))[0]


async def test_payloads_under_an_old_key_decode_after_rotation_and_the_new_key_encrypts(tmp_path):
    keys_dir = tmp_path / "keys"
    _key(keys_dir, "2026-01-01", KEY_A, age=86400)
    keys = CodecKeys(keys_dir)
    before = await _roundtrip(keys, Signoff("370100", "同意推荐"))
    assert before[0].metadata[KEY_ID] == b"2026-01-01"
    assert before[0].metadata["encoding"] == ENCODING
    assert "同意推荐".encode() not in before[0].data

    # Key B is added: known at once (it decrypts what a process already using it wrote) ...
    _key(keys_dir, "2027-01-01", KEY_B)
    keys.reload()
    assert keys.key_ids == ["2026-01-01", "2027-01-01"]
    assert (await _roundtrip(keys, Signoff("370100", "x")))[0].metadata[KEY_ID] == b"2026-01-01"
    # ... and encrypts once it is old enough for every process to have read it.
    os.utime(keys_dir / "2027-01-01", (time.time() - 3600, time.time() - 3600))
    keys.reload()
    after = await _roundtrip(keys, Signoff("370200", "不予推荐"))
    assert after[0].metadata[KEY_ID] == b"2027-01-01"
    assert await _decode(keys, before) == Signoff("370100", "同意推荐")
    assert await _decode(keys, after) == Signoff("370200", "不予推荐")

    # A process that has only key A refuses key B's payloads by key id.
    only_a = tmp_path / "only-a"
    _key(only_a, "2026-01-01", KEY_A)
    with pytest.raises(PayloadRefused, match="unknown key id '2027-01-01'"):
        await _decode(CodecKeys(only_a), after)


async def test_a_new_key_in_the_directory_is_picked_up_without_a_restart(tmp_path, monkeypatch):
    from aicc.platform.temporal import codec

    keys_dir = tmp_path / "keys"
    _key(keys_dir, "2026-01-01", KEY_A, age=86400)
    keys = CodecKeys(keys_dir)
    elsewhere = tmp_path / "elsewhere"
    _key(elsewhere, "2027-01-01", KEY_B, age=86400)
    written = await _roundtrip(CodecKeys(elsewhere), Signoff("370100", "x"))
    monkeypatch.setattr(codec, "RELOAD_INTERVAL", 0.0)
    _key(keys_dir, "2027-01-01", KEY_B)
    assert await _decode(keys, written) == Signoff("370100", "x")


@pytest.mark.parametrize(
    "tamper",
    [
        "plain json",
        "flipped byte",
        "other key id",
        "other workflow",
        "rebound",
        "truncated",
    ],
)
async def test_anything_but_our_own_payload_is_refused(tmp_path, tamper):
    keys_dir = tmp_path / "keys"
    _key(keys_dir, "a", KEY_A)
    _key(keys_dir, "b", KEY_B)
    keys = CodecKeys(keys_dir, activation_delay=0)
    p = (await _roundtrip(keys, Signoff("370100", "同意")))[0]
    target = "cycle-1"
    if tamper == "plain json":
        p = Payload(metadata={"encoding": b"json/plain"}, data=b'{"city_code":"370100","opinion":"x"}')
    elif tamper == "flipped byte":
        p.data = p.data[:20] + bytes([p.data[20] ^ 1]) + p.data[21:]
    elif tamper == "other key id":
        p.metadata[KEY_ID] = b"a"
    elif tamper == "other workflow":
        target = "cycle-2"
    elif tamper == "rebound":
        p.metadata[BINDING] = b"default/cycle-2"
        target = "cycle-2"
    else:
        p.data = p.data[:10]
    decoded = await Sm4GcmCodec(keys).with_context(_ctx(target)).decode([p])
    assert decoded[0].metadata["encoding"] == REFUSED_ENCODING.encode()
    with pytest.raises(PayloadRefused):
        await _decode(keys, [p], target)


async def test_a_payload_written_without_a_workflow_is_read_anywhere_and_the_codec_server_reads_all(tmp_path):
    keys_dir = tmp_path / "keys"
    _key(keys_dir, "a", KEY_A)
    keys = CodecKeys(keys_dir)
    unbound = await data_converter(keys).encode([Signoff("370100", "x")])
    assert BINDING not in unbound[0].metadata
    assert await _decode(keys, unbound, "cycle-9") == Signoff("370100", "x")
    bound = await _roundtrip(keys, Signoff("370100", "y"), "cycle-3")
    (inner,) = await Sm4GcmCodec(keys).decode(bound)  # no context: the codec server
    assert inner.metadata["encoding"] == b"json/plain"


async def test_failure_messages_are_encoded_and_read_back_by_a_client_with_the_codec(tmp_path):
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    keys_dir = tmp_path / "keys"
    _key(keys_dir, "a", KEY_A)
    dc = data_converter(CodecKeys(keys_dir))
    failure = Failure()
    await dc.encode_failure(ApplicationError("甲公司 already signed", type="ALREADY_EXISTS"), failure)
    assert "甲公司" not in failure.message
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    back = await dc.decode_failure(failure)
    assert isinstance(back, ApplicationError)
    assert back.message == "甲公司 already signed"
    assert back.type == "ALREADY_EXISTS"


def test_keys_are_required_outside_dev_mode_and_generated_once_in_dev_mode(tmp_path):
    with pytest.raises(ConfigError, match="AICC_TEMPORAL_CODEC_KEYS_DIR"):
        keys_from_settings(Settings(dev_mode=False, data_dir=tmp_path))
    first = keys_from_settings(Settings(dev_mode=True, data_dir=tmp_path))
    second = keys_from_settings(Settings(dev_mode=True, data_dir=tmp_path))
    assert first.key_ids == second.key_ids == ["0000-dev"]
    path = tmp_path / "secrets" / "temporal-codec" / "0000-dev"
    assert path.stat().st_mode & 0o777 == 0o600
    assert first.current()[1].unseal(second.current()[1].seal(b"x")) == b"x"


@pytest.mark.parametrize(("content", "named"), [(None, "no Temporal codec keys"), ("short", "2026-01-01")])
def test_an_empty_directory_or_a_bad_key_is_refused_naming_it(tmp_path, content, named):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "..data").mkdir()  # a Secret volume's bookkeeping is not a key
    if content is not None:
        (keys_dir / "2026-01-01").write_text(content)
    with pytest.raises(ConfigError, match=named):
        CodecKeys(keys_dir)


# ---------------------------------------------------------------- mTLS options


def _pem(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(f"-----BEGIN {name}-----\n".encode())
    return path


def test_no_tls_settings_mean_plaintext_to_the_dev_server(tmp_path):
    assert tls_config(Settings()) is None


def test_mtls_options_are_built_from_the_settings(tmp_path):
    s = Settings(
        temporal_tls_cert_file=_pem(tmp_path, "CERT"),
        temporal_tls_key_file=_pem(tmp_path, "KEY"),
        temporal_tls_ca_file=_pem(tmp_path, "CA"),
        temporal_tls_server_name="temporal-frontend.temporal.svc",
    )
    tls = tls_config(s)
    assert tls is not None
    assert tls.client_cert == b"-----BEGIN CERT-----\n"
    assert tls.client_private_key == b"-----BEGIN KEY-----\n"
    assert tls.server_root_ca_cert == b"-----BEGIN CA-----\n"
    assert tls.domain == "temporal-frontend.temporal.svc"
    # Without a CA the system roots verify the frontend (a managed cluster).
    s = Settings(temporal_tls_cert_file=_pem(tmp_path, "CERT"), temporal_tls_key_file=_pem(tmp_path, "KEY"))
    tls = tls_config(s)
    assert tls is not None
    assert tls.server_root_ca_cert is None
    assert tls.domain is None


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"temporal_tls_cert_file": "CERT"}, "AICC_TEMPORAL_TLS_KEY_FILE"),
        ({"temporal_tls_key_file": "KEY"}, "AICC_TEMPORAL_TLS_CERT_FILE"),
        ({"temporal_tls_ca_file": "CA"}, "AICC_TEMPORAL_TLS_CA_FILE set without a client certificate"),
        ({"temporal_tls_server_name": "x"}, "AICC_TEMPORAL_TLS_SERVER_NAME set without"),
    ],
)
def test_half_an_mtls_configuration_is_refused_naming_what_to_set(tmp_path, given, named):
    values = {k: (_pem(tmp_path, v) if k.endswith("_file") else v) for k, v in given.items()}
    with pytest.raises(ConfigError, match=named):
        tls_config(Settings(**values))


def test_a_missing_certificate_file_is_refused_naming_the_setting(tmp_path):
    s = Settings(temporal_tls_cert_file=tmp_path / "nope.pem", temporal_tls_key_file=_pem(tmp_path, "KEY"))
    with pytest.raises(ConfigError, match="AICC_TEMPORAL_TLS_CERT_FILE: .*nope.pem does not exist"):
        tls_config(s)
