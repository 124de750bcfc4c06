"""The one authorisation policy: which roles may call each RPC of every service.

Per-object checks (own organisation, own city, assigned applications only) are made by each
service's domain code with :func:`require_*` helpers below, on the loaded object. A test enumerates
every RPC in the proto descriptors and fails if one has no rule here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aicc.platform.auth import Principal
from aicc.platform.errors import PermissionDenied

APPLICANT = "applicant"
CITY_INDUSTRY = "city_industry"
CITY_FINANCE = "city_finance"
PROVINCE_INDUSTRY = "province_industry"
PROVINCE_FINANCE = "province_finance"
PARTY_GROUP = "party_group"
EXPERT = "expert"
AUDITOR = "auditor"
# The three administrators (三员分立, GB/T 22239 level 3) that replace the single operator: the
# system administrator runs the platform (the organisation registry), the security administrator
# creates accounts and grants roles, the audit administrator reads the audit trail. None of them
# reads or decides business records.
SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
# The cycle workflow's worker (a service account, not a person).
SYSTEM = "system"
# The audit administrator (三员分立, ../shared/DESIGN.md): reads every service's audit trail, nothing else.
AUDIT_ADMIN = "audit_admin"

ROLES = frozenset(
    {
        APPLICANT,
        CITY_INDUSTRY,
        CITY_FINANCE,
        PROVINCE_INDUSTRY,
        PROVINCE_FINANCE,
        PARTY_GROUP,
        EXPERT,
        AUDITOR,
        SYSTEM_ADMIN,
        SECURITY_ADMIN,
        AUDIT_ADMIN,
        SYSTEM,
        AUDIT_ADMIN,
    }
)
ADMINS = frozenset({SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})
CITY_ROLES = frozenset({CITY_INDUSTRY, CITY_FINANCE})
PROVINCE_ROLES = frozenset({PROVINCE_INDUSTRY, PROVINCE_FINANCE})
OFFICIALS = ROLES - {APPLICANT, SYSTEM}

# ---------------------------------------------------------------- roles that never meet (one table)
# Separation of duties: each of these decides or checks what another of them does (industry
# proposes, finance concurs, the party group approves, experts score, the auditor checks), so no
# account holds two of them.
SEPARATED_ROLES = frozenset({PROVINCE_INDUSTRY, PROVINCE_FINANCE, PARTY_GROUP, AUDITOR, EXPERT})
# An administrator holds no other role at all, business or administrative; the workflow's service
# account is nobody else either.
SOLE_ROLES = ADMINS | {SYSTEM}


def _incompatible_pairs() -> frozenset[frozenset[str]]:
    pairs = {frozenset({a, b}) for a in SEPARATED_ROLES for b in SEPARATED_ROLES if a != b}
    pairs |= {frozenset({a, b}) for a in SOLE_ROLES for b in ROLES if a != b}
    return frozenset(pairs)


# Every pair of roles that must never be held by one account.
INCOMPATIBLE_ROLES: frozenset[frozenset[str]] = _incompatible_pairs()


def role_conflict(roles: Iterable[str]) -> tuple[str, str] | None:
    """The first pair (sorted) of ``roles`` that may not meet on one account, or None."""
    held = sorted(set(roles))
    for i, a in enumerate(held):
        for b in held[i + 1 :]:
            if frozenset({a, b}) in INCOMPATIBLE_ROLES:
                return a, b
    return None


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] = frozenset()
    # No token needed: health (outside this table), login and public verification keys.
    public: bool = False
    # Changes state (audited; never allowed to the auditor or an administrator unless listed).
    mutating: bool = False


def _r(*roles: str, mutating: bool = False) -> Rule:
    return Rule(frozenset(roles), mutating=mutating)


def _w(*roles: str) -> Rule:
    return _r(*roles, mutating=True)


# Every business role (the administrators read no business records).
READERS_ALL = (APPLICANT, *CITY_ROLES, *PROVINCE_ROLES, PARTY_GROUP, EXPERT, AUDITOR, SYSTEM)
# Identity's own reference records, which administering accounts and the registry needs.
ADMIN_READERS = (SYSTEM_ADMIN, SECURITY_ADMIN)
PROVINCE_READERS = (*PROVINCE_ROLES, PARTY_GROUP, AUDITOR, SYSTEM)

ID = "/aicc.identity.v1.IdentityService/"
IN = "/aicc.intake.v1.IntakeService/"
RV = "/aicc.review.v1.ReviewService/"
FU = "/aicc.funding.v1.FundingService/"
SU = "/aicc.supervision.v1.SupervisionService/"
AU = "/aicc.audit.v1.AuditService/"  # served by the platform on every service's port

RULES: dict[str, Rule] = {
    # every service: its own audit trail, for the audit administrator only
    AU + "ListAuditRecords": _r(AUDIT_ADMIN),
    # identity
    ID + "ListJurisdictions": _r(*READERS_ALL, *ADMIN_READERS),
    # The organisation registry is the platform's reference data (who exists), kept by the system
    # administrator; province industry corrects cities and keeps the Art. 5 records.
    ID + "CreateOrganization": _w(SYSTEM_ADMIN),
    ID + "GetOrganization": _r(*READERS_ALL, *ADMIN_READERS),
    ID + "ListOrganizations": _r(*CITY_ROLES, *PROVINCE_ROLES, PARTY_GROUP, AUDITOR, SYSTEM, *ADMIN_READERS),
    ID + "UpdateOrganizationCity": _w(PROVINCE_INDUSTRY),
    ID + "CreateUser": _w(SECURITY_ADMIN),
    ID + "GrantRole": _w(SECURITY_ADMIN),
    ID + "RevokeRole": _w(SECURITY_ADMIN),
    ID + "ResetSecondFactor": _w(SECURITY_ADMIN),
    ID + "GetUser": _r(*READERS_ALL, SECURITY_ADMIN),
    ID + "Login": Rule(public=True, mutating=True),
    ID + "GetPublicKeys": Rule(public=True),
    ID + "RegisterExpert": _w(PROVINCE_INDUSTRY),
    ID + "ListExperts": _r(PROVINCE_INDUSTRY, AUDITOR, SYSTEM),
    ID + "RecordCreditRecord": _w(PROVINCE_INDUSTRY),
    ID + "RecordGreenThreshold": _w(PROVINCE_INDUSTRY),
    ID + "ImportRegistryRecords": _w(PROVINCE_INDUSTRY),
    ID + "CheckEligibility": _r(APPLICANT, *CITY_ROLES, *PROVINCE_ROLES, AUDITOR, SYSTEM),
    # intake
    IN + "CreateCycle": _w(PROVINCE_INDUSTRY),
    IN + "GetCycle": _r(*READERS_ALL),
    IN + "ListCycles": _r(*READERS_ALL),
    IN + "CreateApplication": _w(APPLICANT),
    IN + "GetApplication": _r(APPLICANT, *CITY_ROLES, *PROVINCE_ROLES, PARTY_GROUP, AUDITOR, SYSTEM),
    IN + "ListApplications": _r(APPLICANT, *CITY_ROLES, *PROVINCE_ROLES, PARTY_GROUP, AUDITOR, SYSTEM),
    IN + "SubmitApplication": _w(APPLICANT),
    IN + "SignCityRecommendation": _w(CITY_INDUSTRY, CITY_FINANCE),
    IN + "DecideCompliance": _w(PROVINCE_INDUSTRY),
    IN + "ConcludeExpertReview": _w(PROVINCE_INDUSTRY),
    IN + "DecideFinanceConcurrence": _w(PROVINCE_FINANCE),
    IN + "ResubmitProposal": _w(PROVINCE_INDUSTRY),
    IN + "DecidePartyGroupApproval": _w(PARTY_GROUP),
    IN + "DecidePublicityOutcome": _w(PROVINCE_INDUSTRY),
    IN + "ConcludeSupervision": _w(PROVINCE_INDUSTRY),
    IN + "RecordCyclePhase": _w(SYSTEM),
    IN + "CloseApplicationWindow": _w(SYSTEM),
    IN + "RecordRecommendation": _w(SYSTEM),
    IN + "RecordCycleDecision": _w(SYSTEM),
    IN + "RecordApplicationOutcomes": _w(SYSTEM),
    IN + "ListRecommendations": _r(*CITY_ROLES, *PROVINCE_READERS),
    IN + "ListCycleDecisions": _r(*PROVINCE_READERS),
    IN + "GetCyclePolicy": _r(*READERS_ALL),
    IN + "ReviseProposal": _w(PROVINCE_INDUSTRY),
    IN + "ExtendDeadline": _w(PROVINCE_INDUSTRY),
    IN + "ResumeCycle": _w(PROVINCE_INDUSTRY),
    # review
    RV + "OpenReview": _w(SYSTEM),
    RV + "RecordComplianceDecisions": _w(SYSTEM),
    RV + "DrawPanels": _w(SYSTEM),
    RV + "ComputeProposal": _w(SYSTEM),
    RV + "OpenPublicity": _w(SYSTEM),
    RV + "ClosePublicity": _w(SYSTEM),
    RV + "ReviseProposal": _w(SYSTEM),
    RV + "RecordAnnouncement": _w(SYSTEM),
    RV + "ExportDocument": _r(*PROVINCE_READERS),
    # Publicity and announcement are public acts (Art. 10): every signed-in reader may read them.
    RV + "ListPublicityNotices": _r(*READERS_ALL),
    RV + "GetAnnouncement": _r(*READERS_ALL),
    RV + "GetPanelDraw": _r(*PROVINCE_READERS),
    RV + "ListAssignments": _r(EXPERT, PROVINCE_INDUSTRY, AUDITOR, SYSTEM),
    RV + "DeclareConflict": _w(EXPERT),
    RV + "GetAssignmentMaterials": _r(EXPERT),
    RV + "SubmitScoreSheet": _w(EXPERT),
    RV + "GetProposal": _r(*PROVINCE_READERS),
    RV + "ExportProposal": _r(*PROVINCE_READERS),
    RV + "ListComplianceReviews": _r(*PROVINCE_READERS),
    # Any authenticated real person may object during publicity (Art. 10).
    RV + "FileObjection": _w(APPLICANT, *CITY_ROLES, *PROVINCE_ROLES, EXPERT),
    RV + "RecordInvestigation": _w(PROVINCE_INDUSTRY),
    RV + "ListObjections": _r(*PROVINCE_READERS),
    RV + "RecordOnSiteReview": _w(PROVINCE_INDUSTRY),
    RV + "ListOnSiteReviews": _r(*PROVINCE_READERS),
    # funding
    FU + "OpenBudget": _w(SYSTEM),
    FU + "ReserveFunds": _w(SYSTEM),
    FU + "DisburseAward": _w(SYSTEM),
    FU + "CloseBudget": _w(SYSTEM),
    FU + "OpenAppropriation": _w(PROVINCE_FINANCE),
    FU + "GetAppropriation": _r(*PROVINCE_READERS),
    FU + "ListAppropriations": _r(*PROVINCE_READERS),
    # With the finance official's own token (intake forwards it): a service account cannot concur.
    FU + "RecordFinanceConcurrence": _w(PROVINCE_FINANCE),
    FU + "ListFinanceConcurrences": _r(*PROVINCE_READERS),
    FU + "GetBudget": _r(*PROVINCE_READERS),
    FU + "ListDisbursements": _r(APPLICANT, *CITY_ROLES, *PROVINCE_READERS),
    FU + "ListLedgerEntries": _r(*PROVINCE_READERS),
    # supervision
    SU + "CreatePerformanceTargets": _w(SYSTEM),
    SU + "GetSupervisionStatus": _r(*PROVINCE_READERS),
    SU + "RecordSupervisionConclusion": _w(SYSTEM),
    SU + "GetSupervisionConclusion": _r(*PROVINCE_READERS),
    SU + "ListPerformanceTargets": _r(APPLICANT, *CITY_ROLES, *PROVINCE_READERS),
    SU + "SubmitMonitoringReport": _w(APPLICANT),
    SU + "RecordEvaluation": _w(PROVINCE_INDUSTRY),
}

UNAUTHENTICATED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# Not an RPC: who may read Temporal payloads in clear through ``aicc codec-server``
# (aicc/platform/temporal/codec_server.py). Nobody may have it encrypt one. The payloads are the
# decisions' content (business records): the auditor reads them; no administrator does — the
# system administrator diagnoses a workflow from what stays clear (ids, types, times, phases), the
# audit administrator reads who did what in the audit trail, not the content.
CODEC_READERS = frozenset({AUDITOR})


def rule_for(method: str) -> Rule | None:
    return RULES.get(method)


def denied(what: str, what_zh: str) -> PermissionDenied:
    return PermissionDenied(f"permission denied: {what}", f"无权操作：{what_zh}", reason="PERMISSION_DENIED")


def require_role(p: Principal, *roles: str) -> None:
    if not p.has(*roles):
        raise denied(f"needs role {' or '.join(roles)}", f"需要角色 {' 或 '.join(roles)}")


def is_province_wide(p: Principal) -> bool:
    """May see every city's and every organisation's records (read)."""
    return p.has(PROVINCE_INDUSTRY, PROVINCE_FINANCE, PARTY_GROUP, AUDITOR, SYSTEM)


def can_see_city(p: Principal, city_code: str) -> bool:
    if is_province_wide(p):
        return True
    return p.has(*CITY_ROLES) and p.city_code == city_code


def can_see_organization(p: Principal, organization_id: str, city_code: str) -> bool:
    if can_see_city(p, city_code):
        return True
    return p.has(APPLICANT) and p.organization_id == organization_id
