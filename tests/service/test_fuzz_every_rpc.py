"""No input reaches INTERNAL or UNKNOWN: every RPC of the five services, enumerated from the proto
descriptors, driven with generated requests over real gRPC against the running suite (PostgreSQL,
the Temporal dev server and the worker, in process) with the token of a role allowed to call it.

Requests are built field by field from the request type's descriptor: strings (random text, huge,
with NUL, with a trailing newline, identifiers and values that exist), integers of every width at
their extremes and negative, enum numbers the enum does not define, timestamps beyond 9999 or with
negative nanos, nested and repeated messages and maps; and raw bytes (garbage, truncated messages,
string fields that are not UTF-8). Every answer must be OK or a refusal other than INTERNAL/UNKNOWN,
and every INVALID_ARGUMENT must name each violated field (``google.rpc.BadRequest``).

Run the whole module: the last test checks that every RPC was fuzzed (a new RPC is fuzzed by
construction; one whose request type has a field kind the generator does not know fails)."""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from aicc.audit.v1 import audit_pb2
from aicc.funding.v1 import funding_pb2
from aicc.identity.v1 import identity_pb2
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform import authz
from aicc.platform.clients import Clients
from aicc.platform.clock import beijing_date
from aicc.platform.policy import default_policy_dir
from aicc.platform.status import read_error
from aicc.platform.temporal import connect
from aicc.review.v1 import review_pb2
from aicc.supervision.v1 import supervision_pb2
from services.identity.domain.uscc import make_uscc
from tests.support.pg import Databases, server_url
from tests.support.suite import InProcessSuite, suite_settings
from workflows.cycle.activities import ServiceAccountToken
from workflows.cycle.worker import build_worker

PASSWORD = "fuzz-test-password-1"
# Examples per RPC: structured requests, then raw bytes (~85 RPCs × 20 ≈ 1,700 requests, ~40 ms each).
STRUCTURED_EXAMPLES = 16
RAW_EXAMPLES = 4
CALL_TIMEOUT = 20.0

SERVICES = {
    "identity": identity_pb2,
    "intake": intake_pb2,
    "review": review_pb2,
    "funding": funding_pb2,
    "supervision": supervision_pb2,
}
# Every service also serves the audit administrator's AuditService (aicc/platform/audit_service.py):
# one implementation, fuzzed on identity's port.
PLATFORM_SERVICES = {"identity": audit_pb2}
# The role a token is chosen for, most able first (a role that reaches furthest into the use case).
ROLE_PREFERENCE = (
    authz.SYSTEM,
    authz.PROVINCE_INDUSTRY,
    authz.PROVINCE_FINANCE,
    authz.PARTY_GROUP,
    authz.SECURITY_ADMIN,
    authz.SYSTEM_ADMIN,
    authz.APPLICANT,
    authz.CITY_INDUSTRY,
    authz.CITY_FINANCE,
    authz.EXPERT,
    authz.AUDITOR,
    authz.AUDIT_ADMIN,
)
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


@dataclass(frozen=True)
class Rpc:
    service: str
    path: str  # /package.Service/Method
    input: Descriptor

    def __str__(self) -> str:
        return self.path.rsplit("/", 2)[-1]


def all_rpcs() -> list[Rpc]:
    out = []
    for service, module in (*SERVICES.items(), *PLATFORM_SERVICES.items()):
        for svc in module.DESCRIPTOR.services_by_name.values():
            m: MethodDescriptor
            for m in svc.methods:
                assert not m.client_streaming, f"{m.full_name}: the fuzzer sends no streams yet"
                assert not m.server_streaming, f"{m.full_name}: the fuzzer reads no streams yet"
                out.append(Rpc(service, f"/{svc.full_name}/{m.name}", m.input_type))
    return out


RPCS = all_rpcs()
SENT: collections.Counter[str] = collections.Counter()
SPENT: collections.Counter[str] = collections.Counter()  # seconds waiting for answers
CODES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


# ---------------------------------------------------------------------------------- the suite


@dataclass
class World:
    addresses: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    known: list[str] = field(default_factory=list)  # identifiers and values that exist
    channels: dict[tuple[str, str | None], grpc.Channel] = field(default_factory=dict)

    def channel(self, service: str, role: str | None) -> grpc.Channel:
        key = (service, role)
        if key not in self.channels:
            self.channels[key] = grpc.insecure_channel(self.addresses[service])
        return self.channels[key]


def _policy_text(**schedule: str) -> str:
    data = yaml.safe_load((default_policy_dir() / "demo.yaml").read_text(encoding="utf-8"))
    data["schedule"].update(schedule)
    return yaml.safe_dump(data, allow_unicode=True)


async def _run_suite(tmp: Path, world: World, ready: threading.Event, stop: asyncio.Event) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), namespace="default"
    )
    dbs = Databases(server_url(), list(SERVICES))
    try:
        target = env.client.service_client.config.target_host
        cfg = suite_settings(tmp, db_urls=dbs.urls, temporal_address=target)
        async with InProcessSuite(cfg, services=list(SERVICES)) as suite:
            token = ServiceAccountToken(cfg)
            clients = Clients(cfg, token_source=token)
            worker = build_worker(await connect(cfg, tracing=False), cfg, clients)
            async with worker:
                await _seed(suite, world)
                world.addresses = {svc: cfg.address(svc) for svc in SERVICES}
                ready.set()
                await stop.wait()
            await clients.close()
            await token.close()
    finally:
        await env.shutdown()
        dbs.close()


async def _seed(suite: InProcessSuite, world: World) -> None:
    """One official of each role, an enterprise and its operator organisation, a cycle (waiting
    for its window) with a draft application, this year's appropriation; their ids join the pool
    of strings the generator draws from."""
    op = await suite.admin()
    org = (
        await op.CreateOrganization(
            ipb.CreateOrganizationRequest(
                uscc=make_uscc("370102", 1), name="济南模糊测试企业", kind=ipb.ORGANIZATION_KIND_ENTERPRISE
            )
        )
    ).organization
    opo = (
        await op.CreateOrganization(
            ipb.CreateOrganizationRequest(
                uscc=make_uscc("370102", 2),
                name="济南模糊测试运营中心",
                kind=ipb.ORGANIZATION_KIND_OPERATOR_ORG,
                parent_organization_id=org.organization_id,
            )
        )
    ).organization
    users = {
        authz.PROVINCE_INDUSTRY: ("f_ind", "", ""),
        authz.PROVINCE_FINANCE: ("f_fin", "", ""),
        authz.PARTY_GROUP: ("f_party", "", ""),
        authz.APPLICANT: ("f_app", org.organization_id, ""),
        authz.CITY_INDUSTRY: ("f_jn_ind", "", "370100"),
        authz.CITY_FINANCE: ("f_jn_fin", "", "370100"),
        authz.EXPERT: ("f_exp", "", ""),
        authz.AUDITOR: ("f_aud", "", ""),
    }
    for role, (username, org_id, city) in users.items():
        await op.CreateUser(
            ipb.CreateUserRequest(
                username=username,
                display_name=username,
                password=PASSWORD,
                roles=[role],
                organization_id=org_id,
                city_code=city,
            )
        )
        world.tokens[role] = await suite.login(username, PASSWORD)
    # a user the fuzzer may reset, register, read: not one whose token it uses
    victim = (
        await op.CreateUser(
            ipb.CreateUserRequest(
                username="f_victim", display_name="受试", password=PASSWORD, roles=[authz.EXPERT]
            )
        )
    ).user
    for admin in (authz.SYSTEM_ADMIN, authz.SECURITY_ADMIN, authz.AUDIT_ADMIN):
        world.tokens[admin] = await suite.admin_token(admin)
    world.tokens[authz.SYSTEM] = await suite.worker_token()
    year = beijing_date(datetime.now(UTC)).year
    from aicc.funding.v1 import funding_pb2 as fpb

    await suite.stub("funding", world.tokens[authz.PROVINCE_FINANCE]).OpenAppropriation(
        fpb.OpenAppropriationRequest(
            fiscal_year=year,
            budget_document_no=f"鲁财工指〔{year}〕1号",
            amount_fen=10**12,
            performance_targets="支持约15家能力中心",
        )
    )
    ind = suite.stub("intake", world.tokens[authz.PROVINCE_INDUSTRY])
    await ind.CreateCycle(
        inpb.CreateCycleRequest(
            cycle_id="fuzz-cycle", title="模糊测试", policy_yaml=_policy_text(applications_open_after="P30D")
        )
    )
    app = (
        await suite.stub("intake", world.tokens[authz.APPLICANT]).CreateApplication(
            inpb.CreateApplicationRequest(
                cycle_id="fuzz-cycle",
                organization_id=org.organization_id,
                operator_organization_id=opo.organization_id,
                title="能力中心",
                service_lines=["compute"],
            )
        )
    ).application
    world.known = [
        org.organization_id,
        opo.organization_id,
        org.uscc,
        victim.user_id,
        "fuzz-cycle",
        app.application_id,
        "370100",
        "370200",
        "demo",
        str(year),
        f"{year}-03-01",
        "0001-01-01",
        "9999-12-31",
        *authz.ROLES,
        "compute",
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_run_suite(tmp_path_factory.mktemp("fuzz"), world, ready, stop))
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            failure.append(e)
        finally:
            ready.set()  # never leave the test waiting, whatever failed

    thread = threading.Thread(target=run, name="fuzz-suite", daemon=True)
    thread.start()
    assert ready.wait(180), "the suite did not start within 180 s"
    if failure:
        raise failure[0]
    assert world.addresses, "the suite did not start"
    yield world
    for ch in world.channels.values():
        ch.close()
    loop.call_soon_threadsafe(stop.set)
    thread.join(60)
    if failure:
        raise failure[0]


# ------------------------------------------------------------------------------- generation

INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = sorted({v for v in (lo, hi, -1, 0, 1, 2, 99, 10**9, 10**15, lo + 1, hi - 1) if lo <= v <= hi})
    return st.one_of(
        st.sampled_from(edges), st.integers(lo, hi), st.integers(-5, 1000).filter(lambda v: lo <= v <= hi)
    )


def _strings(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),
        st.text(max_size=24),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-:", min_size=1, max_size=40),
        st.sampled_from(known).map(lambda s: s + "\n"),
        st.tuples(st.text(max_size=8), st.sampled_from(known)).map(lambda t: t[0] + "\x00" + t[1]),
        st.integers(129, 100_000).map(lambda n: "长" * n),
        st.sampled_from(["１２３４５６", "³⁷⁰¹⁰⁰", "٣٧٠١٠٠", "2026-02-30", "+002026-01-01", "20260101", " "]),
    )


_TIMESTAMPS = st.one_of(
    st.tuples(_ints(-(2**63), 2**63 - 1), _ints(-(2**31), 2**31 - 1)),
    st.tuples(
        st.sampled_from([253_402_300_800, -62_135_596_801, 1_800_000_000, 1, -1]),
        st.sampled_from([-1, 0, 1_000_000_000, 999_999_999]),
    ),
)


def message_strategy(desc: Descriptor, known: list[str], depth: int = 0) -> st.SearchStrategy[dict]:
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for fd in desc.fields:
        one = _field_strategy(fd, known, depth)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            key, value = (_field_strategy(f, known, depth + 1) for f in fd.message_type.fields)
            optional[fd.name] = st.dictionaries(key, value, max_size=3)
        elif fd.is_repeated:
            optional[fd.name] = st.lists(one, max_size=4 if depth < 2 else 2)
        else:
            optional[fd.name] = one
    return st.fixed_dictionaries({}, optional=optional)


def _field_strategy(fd: FieldDescriptor, known: list[str], depth: int) -> st.SearchStrategy[Any]:
    t = fd.type
    if t == fd.TYPE_MESSAGE:
        assert fd.message_type is not None
        if fd.message_type.full_name == "google.protobuf.Timestamp":
            return _TIMESTAMPS.map(lambda sn: {"seconds": sn[0], "nanos": sn[1]})
        if depth >= 3:
            return st.just({})
        return st.deferred(lambda: message_strategy(fd.message_type, known, depth + 1))  # type: ignore[arg-type]
    if t == fd.TYPE_STRING:
        return _strings(known)
    if t == fd.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == fd.TYPE_BOOL:
        return st.booleans()
    if t == fd.TYPE_ENUM:
        assert fd.enum_type is not None
        numbers = [v.number for v in fd.enum_type.values]
        return st.one_of(st.sampled_from(numbers), _ints(-(2**31), 2**31 - 1))
    if t in (fd.TYPE_DOUBLE, fd.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=64 if t == fd.TYPE_DOUBLE else 32)
    if t in INT_RANGES:
        return _ints(*INT_RANGES[t])
    raise AssertionError(f"{fd.full_name}: a field type the fuzzer does not generate ({t})")


def build(desc: Descriptor, values: dict) -> Message:
    msg = GetMessageClass(desc)()
    fill(msg, values)
    return msg


def fill(msg: Message, values: dict) -> None:
    desc = msg.DESCRIPTOR
    for name, value in values.items():
        fd = desc.fields_by_name[name]
        target = getattr(msg, name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_fd.message_type is not None:
                    fill(target[k], v)
                else:
                    target[k] = v
        elif fd.is_repeated:
            for item in value:
                if fd.message_type is not None:
                    fill(target.add(), item)
                else:
                    target.append(item)
        elif fd.message_type is not None:
            sub = target
            sub.SetInParent()
            fill(sub, value)
        else:
            setattr(msg, name, value)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _truncated(b: bytes, keep: float) -> bytes:
    """The first part of a serialized message (a field cut short), or one that declares 5 bytes
    and carries 2."""
    return b[: max(1, int(len(b) * keep))] if len(b) > 1 else b"\x0a\x05ab"


def raw_strategy(rpc: Rpc, known: list[str]) -> st.SearchStrategy[bytes]:
    """Bytes that are not (quite) a request: garbage, a truncated message, a string not UTF-8."""
    strings = [f for f in rpc.input.fields if f.type == f.TYPE_STRING]
    bad_utf8 = st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"ok\x80"])
    parts: list[st.SearchStrategy[bytes]] = [
        st.binary(min_size=1, max_size=64),
        st.tuples(message_strategy(rpc.input, known), st.floats(0, 0.99)).map(
            lambda t: _truncated(build(rpc.input, t[0]).SerializeToString(), t[1])
        ),
    ]
    if strings:
        parts.append(
            st.tuples(st.sampled_from(strings), bad_utf8).map(
                lambda t: _varint(t[0].number << 3 | 2) + _varint(len(t[1])) + t[1]
            )
        )
    return st.one_of(*parts)


# ------------------------------------------------------------------------------- the property


def role_for(rpc: Rpc) -> str | None:
    rule = authz.rule_for(rpc.path)
    assert rule is not None, f"{rpc.path} has no authorisation rule"
    if rule.public:
        return None
    for role in ROLE_PREFERENCE:
        if role in rule.roles:
            return role
    raise AssertionError(f"{rpc.path}: no role of the fuzzer may call it ({sorted(rule.roles)})")


def call(world: World, rpc: Rpc, payload: bytes, shown: object) -> None:
    role = role_for(rpc)
    md = [("authorization", f"Bearer {world.tokens[role]}")] if role else []
    invoke = world.channel(rpc.service, role).unary_unary(rpc.path)  # bytes in, bytes out
    SENT[rpc.path] += 1
    started = time.monotonic()
    try:
        invoke(payload, metadata=md, timeout=CALL_TIMEOUT)
        SPENT[rpc.path] += time.monotonic() - started
        CODES[rpc.path]["OK"] += 1
        return
    except grpc.RpcError as e:
        SPENT[rpc.path] += time.monotonic() - started
        code = e.code()  # type: ignore[attr-defined]
        CODES[rpc.path][code.name] += 1
        what = f"{rpc.path} ({role}) answered {code.name}: {e.details()!r}\n request: {str(shown)[:600]!r}"  # type: ignore[attr-defined]
        assert code not in NEVER, what
        assert code is not grpc.StatusCode.DEADLINE_EXCEEDED, what
        assert code is not grpc.StatusCode.UNIMPLEMENTED, what
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            err = read_error(e)
            assert err.violations, f"no field named: {what}"
            assert all(v.field for v in err.violations), f"a violation without its field: {what}"


FUZZ = settings(
    max_examples=STRUCTURED_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)


# The suite runs in another thread of this process and draws from the global ``random`` while
# hypothesis generates; hypothesis would take that for a strategy using ``random``.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_no_input_reaches_internal_or_unknown(world: World, rpc: Rpc) -> None:
    @FUZZ
    @given(values=message_strategy(rpc.input, world.known))
    def structured(values: dict) -> None:
        msg = build(rpc.input, values)
        call(world, rpc, msg.SerializeToString(), msg)

    @settings(FUZZ, max_examples=RAW_EXAMPLES)
    @given(payload=raw_strategy(rpc, world.known))
    def raw(payload: bytes) -> None:
        call(world, rpc, payload, payload)

    started = time.monotonic()
    structured()
    raw()
    print(
        f" {rpc}: {SENT[rpc.path]} requests, {time.monotonic() - started:.1f}s, answers {SPENT[rpc.path]:.1f}s"
    )


# ------------------------------------------------------------------- each finding, over gRPC


def _answer(world: World, path: str, role: str | None, payload: bytes) -> tuple[grpc.StatusCode, Any]:
    md = [("authorization", f"Bearer {world.tokens[role]}")] if role else []
    service = next(r.service for r in RPCS if r.path == path)
    try:
        world.channel(service, role).unary_unary(path)(payload, metadata=md, timeout=CALL_TIMEOUT)
    except grpc.RpcError as e:
        return e.code(), read_error(e)  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, None


ID = "/aicc.identity.v1.IdentityService/"
IN = "/aicc.intake.v1.IntakeService/"


@pytest.mark.parametrize(
    ("path", "role", "message", "field_name"),
    [
        (ID + "CreateOrganization", authz.SYSTEM_ADMIN, ipb.CreateOrganizationRequest(uscc="x", name="n", kind=99), "kind"),  # type: ignore[arg-type]
        (ID + "ImportRegistryRecords", authz.PROVINCE_INDUSTRY, ipb.ImportRegistryRecordsRequest(kind=7, csv_text="a"), "kind"),  # type: ignore[arg-type]
        (ID + "CheckEligibility", authz.PROVINCE_INDUSTRY, ipb.CheckEligibilityRequest(organization_id="org_x", as_of_date="0001-01-01"), "as_of_date"),
        (ID + "CreateUser", authz.SECURITY_ADMIN, ipb.CreateUserRequest(username="look\n", display_name="x", password="p" * 12, roles=["expert"]), "username"),
        (ID + "CreateUser", authz.SECURITY_ADMIN, ipb.CreateUserRequest(username="big", display_name="x" * 1_000_000, password="p" * 12, roles=["expert"]), "display_name"),
        (ID + "UpdateOrganizationCity", authz.PROVINCE_INDUSTRY, ipb.UpdateOrganizationCityRequest(organization_id="org_x", city_code="370100", reason="a\x00b"), "reason"),
        (IN + "ExtendDeadline", authz.PROVINCE_INDUSTRY, inpb.ExtendDeadlineRequest(cycle_id="fuzz-cycle", phase=inpb.CYCLE_PHASE_APPLYING, reason="r", new_deadline={"seconds": 253_402_300_800}), "new_deadline"),
        (IN + "CreateCycle", authz.PROVINCE_INDUSTRY, inpb.CreateCycleRequest(cycle_id="bomb", title="t", policy_yaml="a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"), "policy_yaml"),
    ],
    ids=["enum", "registry-kind", "year-1", "trailing-newline", "1MB-name", "NUL", "timestamp-9999", "alias-bomb"],
)  # fmt: skip
def test_each_finding_is_refused_naming_its_field(world: World, path, role, message, field_name) -> None:
    started = time.monotonic()
    code, err = _answer(world, path, role, message.SerializeToString())
    assert code is grpc.StatusCode.INVALID_ARGUMENT, (code, err)
    assert {v.field for v in err.violations} == {field_name}, err
    assert time.monotonic() - started < 5


def test_bytes_that_do_not_decode_answer_invalid_argument_not_unknown(world: World) -> None:
    for payload in (b"\x0a\x02\xff\xfe", b"\x0a\x05ab", b"\xff"):  # not UTF-8, truncated, garbage
        code, err = _answer(world, ID + "Login", None, payload)
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (code, err)
        assert err.message.startswith("request could not be decoded")
        assert [v.field for v in err.violations] == ["request"]


def test_a_recommendation_for_an_unknown_cycle_is_not_found(world: World) -> None:
    signoffs = [
        inpb.Signoff(role=r, user_id="u", display_name="d", signed_at={"seconds": 1_800_000_000})
        for r in ("city_industry", "city_finance")
    ]
    req = inpb.RecordRecommendationRequest(
        recommendation=inpb.Recommendation(
            cycle_id="no-such-cycle", city_code="370100", document_no="济工信〔2026〕1号", signoffs=signoffs
        )
    )
    code, err = _answer(world, IN + "RecordRecommendation", authz.SYSTEM, req.SerializeToString())
    assert code is grpc.StatusCode.NOT_FOUND, (code, err)


# Last in the module: runs after every RPC was fuzzed above.
def test_every_rpc_was_fuzzed(world: World) -> None:
    """Every RPC of the five services' descriptors got its requests (run with the whole module)."""
    expected = {r.path for r in RPCS}
    assert len(expected) >= 80  # the five services' RPCs, enumerated from their descriptors
    # a request type without fields has one example (GetPublicKeys); every other gets them all
    missing = sorted(r.path for r in RPCS if SENT[r.path] < (STRUCTURED_EXAMPLES if r.input.fields else 1))
    assert not missing, f"RPCs not fuzzed: {missing}"
    ok = sum(c["OK"] for c in CODES.values())
    print(f"\nfuzz: {sum(SENT.values())} requests to {len(SENT)} RPCs; {ok} answered OK")
    codes: collections.Counter[str] = collections.Counter()
    for c in CODES.values():
        codes.update(c)
    print("fuzz: answers by code:", dict(codes.most_common()))
