"""What every request is refused for before its handler (the platform's request guard), and the
handlers' own checks that no input gets past as an exception (issue 10 point 7): each finding of
the attack, one test each."""

from __future__ import annotations

import time

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform import validation
from aicc.platform.errors import InvalidArgument
from aicc.platform.policy import PolicyError, load_policy_text
from aicc.platform.request_guard import UNDECODABLE, check_request, tolerant
from aicc.platform.validation import Check
from services.identity.domain import personal
from services.identity.domain.second_factor import matching_step


def _fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


def test_an_enum_number_the_enum_does_not_define_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument) as e:
        check_request(ipb.CreateOrganizationRequest(uscc="x", name="n", kind=99))  # type: ignore[arg-type]
    assert "unknown value 99" in _fields(e)["kind"]
    check_request(ipb.CreateOrganizationRequest(kind=ipb.ORGANIZATION_KIND_ENTERPRISE))


def test_check_enum_set_refuses_an_unknown_number_too():
    v = Check()
    assert not v.enum_set("kind", 99, {1, 2})
    assert v.enum_set("kind", 2, {1, 2})
    assert [x.field for x in v.violations] == ["kind"]


def test_strings_over_their_ceiling_or_with_nul_are_refused_by_path_in_nested_and_repeated_fields():
    req = inpb.RecordRecommendationRequest(
        recommendation=inpb.Recommendation(
            cycle_id="c",
            signoffs=[inpb.Signoff(display_name="x" * 201), inpb.Signoff(user_id="u\x00")],
        )
    )
    with pytest.raises(InvalidArgument) as e:
        check_request(req)
    got = _fields(e)
    assert got["recommendation.signoffs[0].display_name"] == "must be at most 200 characters"
    assert got["recommendation.signoffs[1].user_id"] == "must not contain NUL characters"


def test_string_ceilings_by_field_name():
    assert validation.string_limit("organization_id") == 128
    assert validation.string_limit("display_name") == 200
    assert validation.string_limit("opinion") == 2000
    assert validation.string_limit("findings") == 20_000
    assert validation.string_limit("policy_yaml") == 256 * 1024
    assert validation.string_limit("document_no") == 4096
    check_request(inpb.CreateCycleRequest(cycle_id="c", policy_yaml="a: 1\n" * 10_000))


def test_a_timestamp_out_of_range_is_refused_naming_the_field():
    for seconds, nanos in ((253_402_300_800, 0), (-62_135_596_801, 0), (1_800_000_000, -1)):
        req = inpb.ExtendDeadlineRequest(cycle_id="c", new_deadline=Timestamp(seconds=seconds, nanos=nanos))
        with pytest.raises(InvalidArgument) as e:
            check_request(req)
        assert set(_fields(e)) == {"new_deadline"}
        v = Check()
        assert v.timestamp("new_deadline", req.new_deadline) is None
        assert [x.field for x in v.violations] == ["new_deadline"]
    v = Check()
    assert v.timestamp("t", Timestamp(seconds=1_800_000_000, nanos=5000)).year == 2027  # type: ignore[union-attr]
    assert v.timestamp("t", Timestamp(), required=True) is None
    assert [x.description for x in v.violations] == ["is required"]


def test_bytes_that_do_not_decode_are_refused_naming_the_request():
    read = tolerant(ipb.LoginRequest.FromString)
    assert read is not None
    for raw in (b"\x0a\x02\xff\xfe", b"\x0a\x05ab", b"\xff\xff\xff"):
        assert read(raw) is UNDECODABLE
    assert read(ipb.LoginRequest(username="a").SerializeToString()).username == "a"
    with pytest.raises(InvalidArgument) as e:
        check_request(UNDECODABLE)
    assert e.value.message.startswith("request could not be decoded")
    assert set(_fields(e)) == {"request"}


def test_identifiers_and_codes_match_the_whole_string():
    v = Check()
    assert not v.identifier("username", "ops\n")
    assert not v.city_code("city_code", "370100\n")
    assert not v.city_code("city_code", "³⁷⁰¹⁰⁰")  # digits, but not ASCII ones
    assert personal.phone_problem("13800138000\n") is not None
    assert personal.id_number_problem("11010519491231002X\n") is not None
    assert v.identifier("username", "ops")
    assert v.city_code("city_code", "370100")
    assert personal.phone_problem("13800138000") is None


def test_a_second_factor_code_in_other_digits_is_wrong_not_a_crash():
    from datetime import UTC, datetime

    assert matching_step("JBSWY3DPEHPK3PXP", "１２３４５６", datetime.now(UTC)) is None


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "20260101", "2026-W01-1", "+02026-01-01"])
def test_dates_outside_the_calendar_a_request_may_name_are_refused(value):
    v = Check()
    assert v.iso_date("as_of_date", value) is None
    assert [x.field for x in v.violations] == ["as_of_date"]


def test_a_policy_with_aliases_or_too_large_is_refused_quickly():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    started = time.monotonic()
    with pytest.raises(PolicyError) as e:
        load_policy_text(bomb)
    assert time.monotonic() - started < 1
    assert "anchors and aliases" in str(e.value)
    with pytest.raises(PolicyError) as e:
        load_policy_text("# " + "x" * (256 * 1024))
    assert "at most 262144" in str(e.value)


class _PgError(Exception):
    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "code"),
    [
        (_PgError("23503", 'insert violates foreign key constraint "fk_cycle" DETAIL: Key (cycle_id)=(x)'), "FAILED_PRECONDITION"),
        (_PgError("23505", 'duplicate key value violates unique constraint "pk" DETAIL: Key (id)=(x)'), "ABORTED"),
        (Exception("UNIQUE constraint failed: users.username"), "ABORTED"),
        (Exception("FOREIGN KEY constraint failed"), "FAILED_PRECONDITION"),
    ],
)  # fmt: skip
def test_a_database_constraint_answers_a_refusal_without_sql(orig, code):
    from sqlalchemy.exc import IntegrityError

    from aicc.platform.db import refusal_of

    err = refusal_of(IntegrityError("INSERT INTO secret_table VALUES (...)", {}, orig))
    assert err is not None
    assert err.code == code
    for text in (err.message, err.message_zh, str(err.metadata)):
        assert "secret_table" not in text
        assert 'constraint "' not in text
        assert "Key (" not in text
    assert refusal_of(ValueError("x")) is None


def test_a_database_that_takes_no_statement_is_unavailable_not_internal():
    from sqlalchemy.exc import OperationalError

    from aicc.platform.db import refusal_of

    orig = Exception("cannot execute INSERT in a read-only transaction")
    err = refusal_of(OperationalError("INSERT INTO ledger_entries VALUES (...)", {"amount": 1}, orig))
    assert err is not None
    assert (err.code, err.reason) == ("UNAVAILABLE", "DATABASE_UNAVAILABLE")
    assert "ledger_entries" not in err.message
    assert "read-only" not in err.message
