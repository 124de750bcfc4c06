"""SM4-GCM field encryption, masking and redaction (aicc/platform/crypto.py)."""

from __future__ import annotations

import base64
import logging
import os

import pytest

from aicc.platform.crypto import (
    DecryptionError,
    FieldCipher,
    load_key,
    mask_id_number,
    mask_phone,
    parse_key,
    redact,
)
from services.identity.domain.personal import id_number_problem, make_id_number, phone_problem


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(16))


def test_round_trip_with_a_fresh_nonce_each_time(cipher):
    a = cipher.encrypt("13812345678", "users.phone:u1")
    b = cipher.encrypt("13812345678", "users.phone:u1")
    assert a != b
    assert "13812345678" not in a
    assert cipher.decrypt(a, "users.phone:u1") == cipher.decrypt(b, "users.phone:u1") == "13812345678"
    assert cipher.decrypt(cipher.encrypt("", ""), "") == ""


def test_a_flipped_ciphertext_byte_is_detected(cipher):
    token = cipher.encrypt("370102199001011231", "users.id_number:u1")
    raw = bytearray(base64.urlsafe_b64decode(token.removeprefix("sm4gcm1:")))
    raw[14] ^= 0x01  # inside the ciphertext (after the 12-byte nonce)
    tampered = "sm4gcm1:" + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError):
        cipher.decrypt(tampered, "users.id_number:u1")


def test_wrong_context_or_key_fails(cipher):
    token = cipher.encrypt("13812345678", "users.phone:u1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, "users.phone:u2")  # copied into another user's row
    with pytest.raises(DecryptionError):
        FieldCipher(os.urandom(16)).decrypt(token, "users.phone:u1")
    with pytest.raises(DecryptionError):
        cipher.decrypt("plain text", "")


def test_keys_hex_or_raw_and_dev_generation(tmp_path):
    key = os.urandom(16)
    assert parse_key(key.hex().encode() + b"\n") == key
    assert parse_key(key) == key
    with pytest.raises(ValueError, match="32 hex characters or 16 raw bytes"):
        parse_key(b"short")
    generated = load_key(None, data_dir=tmp_path, dev_mode=True)
    path = tmp_path / "secrets" / "sm4-key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key(None, data_dir=tmp_path, dev_mode=True) == generated
    assert load_key(path, data_dir=tmp_path / "other", dev_mode=False) == generated
    with pytest.raises(RuntimeError):
        load_key(None, data_dir=tmp_path, dev_mode=False)


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("370102199001011234") == "370102********1234"
    assert mask_phone("") == mask_id_number("") == ""


def test_redact_masks_phones_and_id_numbers_in_text():
    text = (
        "用户 电话13812345678, id 11010519491231002X; trace 4bf92f3577b34da6a3ce929d0e0e4736 n=123456789012"
    )
    out = redact(text)
    assert "13812345678" not in out
    assert "138****5678" in out
    assert "11010519491231002X" not in out
    assert "110105********002X" in out
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in out
    assert "123456789012" in out


def test_log_records_are_redacted(capsys):
    from aicc.platform.logs import RedactFilter

    handler = logging.StreamHandler()
    handler.addFilter(RedactFilter())
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    try:
        log.warning("phone %s id %s", "13912345678", "370102199001011231")
        try:
            raise ValueError("bad 13912345678")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    err = capsys.readouterr().err
    assert "13912345678" not in err
    assert "370102199001011231" not in err
    assert "139****5678" in err
    assert "370102********1231" in err


def test_id_number_and_phone_checks():
    good = make_id_number("370102", "19900101", "123")
    assert id_number_problem(good) is None
    assert id_number_problem("11010519491231002X") is None  # the GB 11643 example
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert "check digit" in id_number_problem(bad_check)[0]
    assert id_number_problem("37010219901301123X") is not None  # month 13
    assert id_number_problem("3701021990") is not None
    assert phone_problem("13812345678") is None
    assert phone_problem("12812345678") is not None
    assert phone_problem("1381234567") is not None
