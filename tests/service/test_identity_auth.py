"""Identity hardening over gRPC: officials' second factor (TOTP), lockout, signing-key rotation,
personal data encrypted at rest and masked, the official correction of an applicant's city."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import grpc
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aicc.identity.v1 import identity_pb2 as pb
from aicc.platform.status import read_error
from aicc.supervision.v1 import supervision_pb2 as spb
from services.identity.domain.personal import make_id_number
from services.identity.domain.uscc import make_uscc
from tests.support.suite import InProcessSuite, suite_settings

PW = "a-long-password-for-tests"
BAD_CREDENTIALS = "wrong username or password (after repeated failures, attempts are refused for a while)"


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity"]) as s:
        yield s


async def _enterprise(ident, n: int = 1, division: str = "370212", city: str = "") -> pb.Organization:
    return (
        await ident.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc=make_uscc(division, n),
                name=f"企业{n}",
                kind=pb.ORGANIZATION_KIND_ENTERPRISE,
                legal_person=True,
                city_code=city,
            )
        )
    ).organization


async def _refused(call) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return read_error(e.value)


# ---------------------------------------------------------------- second factor


async def test_official_gets_totp_once_and_needs_a_fresh_code(suite):
    ident = await suite.admin()
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="prov", display_name="省工信厅", password=PW, roles=["province_industry"]
        )
    )
    assert created.totp_secret
    assert created.totp_provisioning_uri.startswith("otpauth://totp/")
    assert "secret=" + created.totp_secret in created.totp_provisioning_uri
    totp = pyotp.TOTP(created.totp_secret)
    anon = suite.stub("identity")

    err = await _refused(anon.Login(pb.LoginRequest(username="prov", password=PW)))
    assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SECOND_FACTOR_REQUIRED")
    assert "totp_code" in err.message
    assert err.message_zh

    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    err = await _refused(anon.Login(pb.LoginRequest(username="prov", password=PW, totp_code=wrong)))
    assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SECOND_FACTOR_INVALID")

    # A wrong password says nothing about the second factor (or whether the user exists).
    for who in ("prov", "nobody"):
        err = await _refused(anon.Login(pb.LoginRequest(username=who, password="wrong-password-xx")))
        assert (err.reason, err.message) == ("BAD_CREDENTIALS", BAD_CREDENTIALS)

    code = totp.now()
    ok = await anon.Login(pb.LoginRequest(username="prov", password=PW, totp_code=code))
    assert jwt.decode(ok.access_token, options={"verify_signature": False})["roles"] == ["province_industry"]
    err = await _refused(anon.Login(pb.LoginRequest(username="prov", password=PW, totp_code=code)))
    assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SECOND_FACTOR_INVALID")
    assert "already used" in err.message
    step = int(time.time()) // 30
    err = await _refused(
        anon.Login(pb.LoginRequest(username="prov", password=PW, totp_code=totp.generate_otp(step - 1)))
    )
    assert err.reason == "SECOND_FACTOR_INVALID"  # an earlier step after a later one: replay too
    await anon.Login(pb.LoginRequest(username="prov", password=PW, totp_code=totp.generate_otp(step + 1)))

    # The secret is handed out only once.
    got = (await ident.GetUser(pb.GetUserRequest(user_id=created.user.user_id))).user
    assert created.totp_secret not in str(got)


async def test_applicant_needs_no_code(suite):
    ident = await suite.admin()
    org = await _enterprise(ident)
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="appl",
            display_name="申报人",
            password=PW,
            roles=["applicant"],
            organization_id=org.organization_id,
        )
    )
    assert created.totp_secret == ""
    assert created.totp_provisioning_uri == ""
    assert (await suite.stub("identity").Login(pb.LoginRequest(username="appl", password=PW))).access_token


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin"])
async def test_each_administrator_logs_in_with_its_bootstrap_totp(suite, role):
    secret_file = suite.settings.data_dir / "secrets" / f"{role}-totp"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    username = suite.settings.admin_usernames()[role]
    password = suite.admin_password(role)
    err = await _refused(suite.stub("identity").Login(pb.LoginRequest(username=username, password=password)))
    assert err.reason == "SECOND_FACTOR_REQUIRED"
    code = pyotp.TOTP(secret_file.read_text().strip()).now()
    resp = await suite.stub("identity").Login(
        pb.LoginRequest(username=username, password=password, totp_code=code)
    )
    assert resp.user.roles == [role]


# lockout: tests/service/test_identity_lockout.py


# ---------------------------------------------------------------- key rotation


def _write_key(keys_dir: Path, kid: str) -> Path:
    path = keys_dir / f"{kid}.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


async def test_signing_key_rotation_without_restart(tmp_path):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    key_a = _write_key(keys_dir, "2026-01-a")
    settings = suite_settings(tmp_path, token_signing_keys_dir=keys_dir)
    async with InProcessSuite(settings, services=["identity", "supervision"]) as suite:
        ident = await suite.admin()
        org = await _enterprise(ident)
        await ident.CreateUser(
            pb.CreateUserRequest(
                username="appl",
                display_name="申报人",
                password=PW,
                roles=["applicant"],
                organization_id=org.organization_id,
            )
        )
        anon = suite.stub("identity")

        async def token() -> str:
            return (await anon.Login(pb.LoginRequest(username="appl", password=PW))).access_token

        async def accepted_by_supervision(tok: str) -> bool:
            try:
                await suite.stub("supervision", tok).ListPerformanceTargets(
                    spb.ListPerformanceTargetsRequest(cycle_id="c-1")
                )
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.UNAUTHENTICATED:
                    return False
            return True

        kid = lambda t: jwt.get_unverified_header(t)["kid"]  # noqa: E731
        ta = await token()
        assert kid(ta) == "2026-01-a"
        assert await accepted_by_supervision(ta)

        # Key B appears: published at once, signs only once it is ACTIVATION_DELAY old.
        key_b = _write_key(keys_dir, "2026-02-b")
        kids = {k.kid for k in (await anon.GetPublicKeys(pb.GetPublicKeysRequest())).keys}
        assert kids == {"2026-01-a", "2026-02-b"}
        assert kid(await token()) == "2026-01-a"
        old = time.time() - 60
        os.utime(key_b, (old, old))  # as if the activation delay had passed
        # (supervision last fetched the keys a moment ago; with B published 10 s before it signs,
        # its next fetch would be allowed — here we skip the wait)
        sup_verifier = suite.hosts["supervision"].runtime.verifier
        sup_verifier.refetch_interval = 0
        tb = await token()
        assert kid(tb) == "2026-02-b"
        assert await accepted_by_supervision(tb)  # unknown kid → refetch, no restart
        assert await accepted_by_supervision(ta)  # A still verifies until it is removed

        # A is removed: identity stops publishing it; verifiers drop it once their copy is older
        # than max_age (5 minutes; zero here).
        key_a.unlink()
        kids = {k.kid for k in (await anon.GetPublicKeys(pb.GetPublicKeysRequest())).keys}
        assert kids == {"2026-02-b"}
        sup_verifier.max_age = 0
        assert not await accepted_by_supervision(ta)
        assert await accepted_by_supervision(tb)
        err = await _refused(suite.stub("identity", ta).GetUser(pb.GetUserRequest(user_id="usr_x")))
        assert err.code == grpc.StatusCode.UNAUTHENTICATED


# ---------------------------------------------------------------- personal data


async def test_personal_data_is_encrypted_at_rest_and_masked(suite):
    ident = await suite.admin()
    org = await _enterprise(ident)
    id_number = make_id_number("370102", "19850607", "412")
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="appl",
            display_name="申报人",
            password=PW,
            roles=["applicant"],
            organization_id=org.organization_id,
            phone="13812345678",
            id_number=id_number,
        )
    )
    assert created.user.phone == "138****5678"
    assert created.user.id_number == f"370102********{id_number[-4:]}"
    token = await suite.login("appl", PW)
    me = (await suite.stub("identity", token).GetUser(pb.GetUserRequest(user_id=created.user.user_id))).user
    assert (me.phone, me.id_number) == (created.user.phone, created.user.id_number)

    db = Path(suite.settings.database_url("identity").removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        phone_enc, id_enc, totp_enc = conn.execute(
            "SELECT phone_enc, id_number_enc, totp_secret_enc FROM users WHERE username = 'appl'"
        ).fetchone()
        dump = "\n".join(conn.iterdump())
    assert phone_enc.startswith("sm4gcm1:")
    assert id_enc.startswith("sm4gcm1:")
    assert totp_enc is None
    assert "12345678" not in dump
    assert id_number[6:14] not in dump
    for role in ("system_admin", "security_admin", "audit_admin"):
        admin_totp = (suite.settings.data_dir / "secrets" / f"{role}-totp").read_text().strip()
        assert admin_totp not in dump  # the administrators' TOTP secrets are encrypted too


async def test_bad_personal_data_is_refused_naming_the_field_without_echoing_it(suite):
    ident = await suite.admin()
    good = make_id_number("370102", "19850607", "412")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    err = await _refused(
        ident.CreateUser(
            pb.CreateUserRequest(
                username="u1",
                display_name="某人",
                password=PW,
                roles=["auditor"],
                id_number=bad,
                phone="1381234567",
            )
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"id_number", "phone"}
    assert "check digit" in next(v.description for v in err.violations if v.field == "id_number")
    assert bad not in str(err)
    assert "1381234567" not in str(err)


# ---------------------------------------------------------------- city correction


async def test_province_industry_corrects_an_applicants_city_with_a_reason(suite):
    ident = await suite.admin()
    # Registered with a provincial authority (division 370000): the city was named at registration,
    # wrongly; the province corrects it.
    org = await _enterprise(ident, 7, division="370000", city="370100")
    assert org.city_code == "370100"
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="prov", display_name="省工信厅", password=PW, roles=["province_industry"]
        )
    )
    prov = suite.stub("identity", await suite.login("prov", PW, pyotp.TOTP(created.totp_secret).now()))
    req = pb.UpdateOrganizationCityRequest(organization_id=org.organization_id, city_code="370600", reason="")
    err = await _refused(prov.UpdateOrganizationCity(req))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["reason"]
    sysadmin = suite.stub("identity", await suite.admin_token("system_admin"))
    err = await _refused(
        sysadmin.UpdateOrganizationCity(
            pb.UpdateOrganizationCityRequest(
                organization_id=org.organization_id, city_code="370600", reason="x"
            )
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED  # the system administrator may not
    err = await _refused(
        prov.UpdateOrganizationCity(
            pb.UpdateOrganizationCityRequest(
                organization_id=org.organization_id, city_code="370000", reason="x"
            )
        )
    )
    assert [v.field for v in err.violations] == ["city_code"]
    fixed = (
        await prov.UpdateOrganizationCity(
            pb.UpdateOrganizationCityRequest(
                organization_id=org.organization_id,
                city_code="370600",
                reason="实际经营地在烟台，营业执照由省局核发",
            )
        )
    ).organization
    assert fixed.city_code == "370600"
    got = (
        await prov.GetOrganization(pb.GetOrganizationRequest(organization_id=org.organization_id))
    ).organization
    assert got.city_code == "370600"


async def test_operator_re_enrols_an_officials_second_factor_and_the_old_one_stops_working(suite):
    ident = await suite.admin()
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="lost-phone",
            display_name="市工信局",
            password=PW,
            roles=["city_industry"],
            city_code="370100",
        )
    )
    old = pyotp.TOTP(created.totp_secret)
    anon = suite.stub("identity")

    err = await _refused(ident.ResetSecondFactor(pb.ResetSecondFactorRequest(user_id=created.user.user_id)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["reason"]
    reset = await ident.ResetSecondFactor(
        pb.ResetSecondFactorRequest(
            user_id=created.user.user_id, reason="手机遗失，已当面核验身份（工单 2026-118）"
        )
    )
    assert reset.totp_secret != created.totp_secret
    assert reset.totp_provisioning_uri.startswith("otpauth://totp/")
    err = await _refused(anon.Login(pb.LoginRequest(username="lost-phone", password=PW, totp_code=old.now())))
    if pyotp.TOTP(reset.totp_secret).now() != old.now():  # (one in a million: both codes agree)
        assert err.reason == "SECOND_FACTOR_INVALID"
    await anon.Login(
        pb.LoginRequest(username="lost-phone", password=PW, totp_code=pyotp.TOTP(reset.totp_secret).now())
    )

    # the reason is on record; applicants have no second factor to reset (that only the operator may
    # reset at all is in tests/service/test_authz_matrix.py, which tries every RPC with every role)
    db = sqlite3.connect(suite.settings.database_url("identity").removeprefix("sqlite:///"))
    rows = db.execute(
        "SELECT reason FROM second_factor_resets WHERE user_id = ?", (created.user.user_id,)
    ).fetchall()
    db.close()
    assert rows == [("手机遗失，已当面核验身份（工单 2026-118）",)]
    org = await _enterprise(ident, 31)
    applicant = (
        await ident.CreateUser(
            pb.CreateUserRequest(
                username="appl-r",
                display_name="申报",
                password=PW,
                roles=["applicant"],
                organization_id=org.organization_id,
            )
        )
    ).user
    err = await _refused(
        ident.ResetSecondFactor(pb.ResetSecondFactorRequest(user_id=applicant.user_id, reason="x"))
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_SECOND_FACTOR_NEEDED")
