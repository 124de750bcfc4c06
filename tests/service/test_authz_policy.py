"""The authorisation table (``aicc.platform.authz.RULES``) checked against the generated proto
descriptors: every RPC has exactly one rule, nothing is public by accident, the auditor and the
administrators change nothing (bar each administrator's own duty), the auditor reads what the province
reads, and RPCs left to the ``system`` role alone are exactly the workflow's activities."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aicc.audit.v1 import audit_pb2
from aicc.funding.v1 import funding_pb2
from aicc.identity.v1 import identity_pb2
from aicc.intake.v1 import intake_pb2
from aicc.platform import authz
from aicc.platform.authz import RULES, UNAUTHENTICATED_PREFIXES
from aicc.review.v1 import review_pb2
from aicc.supervision.v1 import supervision_pb2

MODULES = (audit_pb2, identity_pb2, intake_pb2, review_pb2, funding_pb2, supervision_pb2)
ROOT = Path(__file__).resolve().parents[2]

# The only RPCs callable without a token besides grpc.health.v1 and reflection.
PUBLIC = {"/aicc.identity.v1.IdentityService/Login", "/aicc.identity.v1.IdentityService/GetPublicKeys"}
# Platform IT administers accounts (DESIGN: "run the platform; no business data changes").
ADMIN_WRITES = {
    authz.SYSTEM_ADMIN: {"/aicc.identity.v1.IdentityService/CreateOrganization"},
    authz.SECURITY_ADMIN: {
        "/aicc.identity.v1.IdentityService/CreateUser",
        "/aicc.identity.v1.IdentityService/GrantRole",
        "/aicc.identity.v1.IdentityService/RevokeRole",
        "/aicc.identity.v1.IdentityService/ResetSecondFactor",
    },
    authz.AUDIT_ADMIN: set(),
}
# Export*: a read that answers a file (ExportProposal).
READ_PREFIXES = ("Get", "List", "Check", "Export")


def all_rpcs() -> dict[str, str]:
    """Full method path (as the server interceptor sees it) -> short method name."""
    out = {}
    for mod in MODULES:
        for svc in mod.DESCRIPTOR.services_by_name.values():
            for m in svc.methods:
                out[f"/{svc.full_name}/{m.name}"] = m.name
    return out


RPCS = all_rpcs()


def workflow_called() -> set[str]:
    """RPCs the cycle workflow's activities call (``self.c.<service>.<Method>``)."""
    src = (ROOT / "workflows" / "cycle" / "activities.py").read_text(encoding="utf-8")
    pkgs = {
        "identity": "IdentityService",
        "intake": "IntakeService",
        "review": "ReviewService",
        "funding": "FundingService",
        "supervision": "SupervisionService",
    }
    return {f"/aicc.{svc}.v1.{pkgs[svc]}/{m}" for svc, m in re.findall(r"self\.c\.(\w+)\.(\w+)", src)}


def test_every_rpc_has_a_rule_and_every_rule_an_rpc():
    missing = sorted(set(RPCS) - set(RULES))
    unknown = sorted(set(RULES) - set(RPCS))
    assert not missing, f"RPCs without an authorisation rule: {missing}"
    assert not unknown, f"rules for RPCs that do not exist: {unknown}"
    covered = len(set(RPCS) & set(RULES))
    print(f"\nauthz: {covered} of {len(RPCS)} RPCs covered by RULES")
    assert covered == len(RPCS) == len(RULES)


def test_no_rpc_is_unauthenticated_except_the_listed_public_ones():
    assert {m for m, r in RULES.items() if r.public} == PUBLIC
    for m in RPCS:
        assert not m.startswith(UNAUTHENTICATED_PREFIXES), m
    assert all(p.startswith(("/grpc.health.v1.", "/grpc.reflection.")) for p in UNAUTHENTICATED_PREFIXES)
    for m, r in RULES.items():
        if not r.public:
            assert r.roles, f"{m} is neither public nor open to any role"
            assert r.roles <= authz.ROLES, f"{m} names unknown roles {set(r.roles) - authz.ROLES}"
        else:
            assert not r.roles, f"public {m} should not list roles"


def test_mutating_flag_follows_the_rpc_name():
    for m, name in RPCS.items():
        if m in PUBLIC:
            continue
        assert RULES[m].mutating == (not name.startswith(READ_PREFIXES)), m


@pytest.mark.parametrize("role", [authz.AUDITOR, *sorted(authz.ADMINS)])
def test_auditor_and_administrators_change_nothing_but_their_own_duty(role):
    allowed = ADMIN_WRITES.get(role, set())
    writes = {m for m, r in RULES.items() if r.mutating and role in r.roles}
    assert writes == allowed


def test_administrators_read_no_business_records():
    """三员分立: an administrator reads identity's reference records (organisations, jurisdictions,
    accounts) for its duty, nothing of intake, review, funding or supervision; the audit
    administrator reads the audit trail, and that alone."""
    for m, r in RULES.items():
        if r.roles & authz.ADMINS:
            assert m.startswith((authz.ID, authz.AU)), f"an administrator may call {m}"
        if m.startswith(authz.AU):
            assert r.roles == {authz.AUDIT_ADMIN}, m
    assert authz.AUDIT_ADMIN not in {role for r in RULES.values() for role in r.roles if r.mutating}
    assert not authz.CODEC_READERS & authz.ADMINS


def test_granting_roles_is_the_security_administrators_alone():
    for rpc in ("CreateUser", "GrantRole", "RevokeRole", "ResetSecondFactor"):
        assert RULES[authz.ID + rpc].roles == {authz.SECURITY_ADMIN}, rpc


ROLE_CONFLICTS = [
    (authz.PROVINCE_INDUSTRY, authz.PROVINCE_FINANCE),
    (authz.PROVINCE_INDUSTRY, authz.PARTY_GROUP),
    (authz.PROVINCE_FINANCE, authz.AUDITOR),
    (authz.PARTY_GROUP, authz.EXPERT),
    (authz.AUDITOR, authz.EXPERT),
    (authz.SYSTEM_ADMIN, authz.SECURITY_ADMIN),
    (authz.SECURITY_ADMIN, authz.AUDIT_ADMIN),
    (authz.AUDIT_ADMIN, authz.AUDITOR),
    (authz.SECURITY_ADMIN, authz.APPLICANT),
    (authz.SYSTEM_ADMIN, authz.CITY_INDUSTRY),
    (authz.SYSTEM, authz.PROVINCE_FINANCE),
]


@pytest.mark.parametrize(("a", "b"), ROLE_CONFLICTS)
def test_roles_that_never_meet(a, b):
    assert frozenset({a, b}) in authz.INCOMPATIBLE_ROLES
    assert authz.role_conflict([a, b]) == tuple(sorted((a, b)))


def test_roles_that_may_meet():
    assert authz.role_conflict([authz.CITY_INDUSTRY, authz.CITY_FINANCE]) is None
    assert authz.role_conflict([authz.APPLICANT, authz.EXPERT]) is None
    assert authz.role_conflict([authz.PROVINCE_INDUSTRY]) is None
    # The table: 10 pairs among the five separated roles, and every administrator (and the
    # service account) with every other role.
    n = len(authz.ROLES)
    sole = len(authz.SOLE_ROLES)
    expected = 10 + sole * (n - 1) - sole * (sole - 1) // 2
    assert len(authz.INCOMPATIBLE_ROLES) == expected


def test_auditor_reads_whatever_the_province_reads():
    province = {*authz.PROVINCE_ROLES, authz.PARTY_GROUP}
    reads = {m for m, r in RULES.items() if not r.mutating and not r.public}
    assert reads, "no read RPCs found"
    for m in reads:
        if RULES[m].roles & province:
            assert authz.AUDITOR in RULES[m].roles, f"auditor cannot read {m}"
    # Nothing the auditor may call changes state.
    assert all(not RULES[m].mutating for m in RULES if authz.AUDITOR in RULES[m].roles)


def test_system_only_rpcs_are_exactly_the_workflow_activities():
    called = workflow_called()
    assert called, "no activity calls found in workflows/cycle/activities.py"
    assert called <= set(RPCS), f"activities call unknown RPCs: {called - set(RPCS)}"
    for m in called:
        assert authz.SYSTEM in RULES[m].roles, f"the workflow calls {m} but its rule refuses system"
    system_only = {m for m, r in RULES.items() if r.roles == {authz.SYSTEM}}
    # Every system-only RPC is one the workflow calls (else nobody could ever call it).
    assert system_only <= called, f"system-only RPCs nothing calls: {system_only - called}"
    # Every mutating RPC the workflow calls is reserved to it.
    assert {m for m in called if RULES[m].mutating} == system_only
    # No person's decision RPC is open to the workflow's service account.
    for m, r in RULES.items():
        if r.mutating and m not in called:
            assert authz.SYSTEM not in r.roles, m


def test_roles_of_humans_are_never_system_and_applicants_never_decide():
    decisions = [
        m
        for m in RULES
        if m.startswith(authz.IN) and RPCS[m].startswith(("Decide", "Conclude", "Resubmit", "Sign"))
    ]
    assert len(decisions) == 8
    for m in decisions:
        assert authz.APPLICANT not in RULES[m].roles
        assert authz.EXPERT not in RULES[m].roles
        assert authz.SYSTEM not in RULES[m].roles
