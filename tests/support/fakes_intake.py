"""In-process stand-ins for intake's outbound ports (``services/intake/domain/ports.py``): the
identity registry, review's and funding's records, and the cycle workflows. Each records what it was
asked, so a test can prove that a refused request reached none of them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

from aicc.platform.errors import AlreadyExists, DomainError, not_found
from services.intake.domain.model import (
    ComplianceOutcome,
    Disbursement,
    Eligibility,
    EligibilityFailure,
    EligibilityRules,
    FinanceConcurrence,
    Organization,
    OrganizationKind,
    Proposal,
    ProposalLine,
)
from workflows.cycle.models import (
    CitySignoff,
    ComplianceDecisions,
    ComplianceResult,
    Conclusion,
    CycleInput,
    CycleStatus,
    DeadlineExtension,
    ProposalDecision,
    ProposalRevision,
    PublicityOutcome,
    Resumption,
    SignoffResult,
)

# What identity applies when a request carries no rules (the province's policy, Art. 5(1)).
PROVINCE_RULES = EligibilityRules(
    require_legal_person=True,
    require_green_threshold=True,
    serious_dishonesty_lookback_years=3,
    division_prefix="37",
)


@dataclass(frozen=True)
class RegistryFacts:
    """What identity's registry knows of an enterprise for the Art. 5(1) screen."""

    division: str  # GB/T 2260 code of its registration, e.g. "370102"
    legal_person: bool = True
    green: bool = True
    dishonest_in: int | None = None  # the year of a serious-dishonesty record, if any


@dataclass
class FakeIdentityRegistry:
    """Organisations by id (an unknown one is None, as NOT_FOUND from identity). The screen honours
    the rules it is given (the province's when none), as identity's CheckEligibility does: legal
    person, green threshold, serious dishonesty within the look-back years, territory prefix.
    ``screen`` overrides the answer for an organisation."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    facts: dict[str, RegistryFacts] = field(default_factory=dict)
    screen: dict[str, Eligibility] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)
    checked: list[tuple[str, date]] = field(default_factory=list)
    rules_seen: list[EligibilityRules | None] = field(default_factory=list)

    def enterprise(
        self,
        organization_id: str,
        city_code: str,
        name: str = "",
        *,
        division: str = "",
        dishonest_in: int | None = None,
    ) -> Organization:
        division = division or city_code[:4] + "02"
        org = Organization(
            organization_id,
            name or f"企业 {organization_id}",
            OrganizationKind.ENTERPRISE,
            city_code,
            uscc=f"91{division}{zlib.crc32(organization_id.encode()):010d}",
        )
        self.organizations[organization_id] = org
        self.facts[organization_id] = RegistryFacts(division, dishonest_in=dishonest_in)
        return org

    def operator_org(self, organization_id: str, parent: Organization) -> Organization:
        org = Organization(
            organization_id,
            f"{parent.name} 运营中心",
            OrganizationKind.OPERATOR_ORG,
            parent.city_code,
            parent_organization_id=parent.organization_id,
        )
        self.organizations[organization_id] = org
        return org

    async def organization(self, organization_id: str) -> Organization | None:
        self.looked_up.append(organization_id)
        return self.organizations.get(organization_id)

    async def eligibility(
        self, organization_id: str, as_of: date, rules: EligibilityRules | None = None
    ) -> Eligibility:
        self.checked.append((organization_id, as_of))
        self.rules_seen.append(rules)
        if organization_id in self.screen:
            return self.screen[organization_id]
        facts = self.facts.get(organization_id, RegistryFacts("370102"))
        failures = _screen(facts, rules or PROVINCE_RULES, as_of)
        return Eligibility(not failures, failures)


def _screen(f: RegistryFacts, r: EligibilityRules, as_of: date) -> list[EligibilityFailure]:
    failures = []
    if r.require_legal_person and not f.legal_person:
        failures.append(
            EligibilityFailure("legal_person", "Art. 5(1)", "not a legal person", "不具备独立法人资格")
        )
    if r.require_green_threshold and not f.green:
        failures.append(
            EligibilityFailure("green_threshold", "Art. 5(1)", "below the green threshold", "未达绿色门槛")
        )
    if f.dishonest_in is not None and as_of.year - f.dishonest_in < r.serious_dishonesty_lookback_years:
        failures.append(
            EligibilityFailure(
                "serious_dishonesty",
                "Art. 5(1)",
                f"serious dishonesty in {f.dishonest_in}",
                f"{f.dishonest_in} 年有严重失信记录",
            )
        )
    if not f.division.startswith(r.division_prefix):
        failures.append(
            EligibilityFailure(
                "territory", "Art. 5(1)", f"not registered under {r.division_prefix}", "注册地不在本辖区"
            )
        )
    return failures


@dataclass
class FakeReviewRecords:
    """Review's compliance results and proposal versions by cycle; every read recorded."""

    compliance: dict[str, list[ComplianceOutcome]] = field(default_factory=dict)
    proposals: dict[tuple[str, int], Proposal] = field(default_factory=dict)
    reads: list[tuple[str, str, int]] = field(default_factory=list)

    def propose(self, cycle_id: str, version: int, *lines: ProposalLine) -> Proposal:
        p = Proposal(cycle_id, version, list(lines))
        self.proposals[(cycle_id, version)] = p
        return p

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceOutcome]:
        self.reads.append(("compliance", cycle_id, 0))
        return list(self.compliance.get(cycle_id, []))

    async def proposal(self, cycle_id: str, version: int) -> Proposal:
        self.reads.append(("proposal", cycle_id, version))
        if version == 0:
            versions = [v for c, v in self.proposals if c == cycle_id]
            version = max(versions, default=0)
        found = self.proposals.get((cycle_id, version))
        if found is None:
            raise not_found("proposal", f"{cycle_id} v{version}", "拟支持名单")
        return found


@dataclass
class FakeFundingRecords:
    """Funding's disbursements by cycle, and finance concurrences kept once per cycle and version
    (a repeat answers the first record, as funding does)."""

    payments: dict[str, list[Disbursement]] = field(default_factory=dict)
    concurrences: dict[tuple[str, int], FinanceConcurrence] = field(default_factory=dict)
    recorded: list[tuple[str, int, bool, str, list[ProposalLine]]] = field(default_factory=list)
    refusal: DomainError | None = None

    async def disbursements(self, cycle_id: str) -> list[Disbursement]:
        return list(self.payments.get(cycle_id, []))

    async def record_finance_concurrence(
        self, cycle_id: str, proposal_version: int, agree: bool, opinion: str, lines: list[ProposalLine]
    ) -> FinanceConcurrence:
        if self.refusal is not None:
            err, self.refusal = self.refusal, None
            raise err
        self.recorded.append((cycle_id, proposal_version, agree, opinion, list(lines)))
        key = (cycle_id, proposal_version)
        if key not in self.concurrences:
            self.concurrences[key] = FinanceConcurrence(
                cycle_id, proposal_version, agree, opinion, len(lines)
            )
        return self.concurrences[key]


@dataclass
class FakeCycleWorkflows:
    """Workflows started and decisions received, in order. ``refusal`` is raised by the next decision
    (as the workflow's validator would refuse it: nothing recorded); ``start_failure`` by the next
    start. ``statuses`` answers ``status`` (None when absent, as an unreachable workflow)."""

    started: dict[str, CycleInput] = field(default_factory=dict)
    decisions: list[tuple[str, str, object]] = field(default_factory=list)
    statuses: dict[str, CycleStatus] = field(default_factory=dict)
    refusal: DomainError | None = None
    start_failure: DomainError | None = None
    proposal_version: int = 1

    async def start(self, inp: CycleInput) -> str:
        if self.start_failure is not None:
            err, self.start_failure = self.start_failure, None
            raise err
        if inp.cycle_id in self.started:
            raise AlreadyExists(f"cycle {inp.cycle_id} already exists", reason="CYCLE_EXISTS")
        self.started[inp.cycle_id] = inp
        return f"cycle-{inp.cycle_id}"

    async def status(self, cycle_id: str, *, wait: float = 3.0) -> CycleStatus | None:
        return self.statuses.get(cycle_id)

    def _decide(self, cycle_id: str, update: str, arg: object) -> None:
        if self.refusal is not None:
            err, self.refusal = self.refusal, None
            raise err
        self.decisions.append((cycle_id, update, arg))

    def updates(self, name: str) -> list[object]:
        return [a for _, u, a in self.decisions if u == name]

    async def sign_city_recommendation(self, cycle_id: str, signoff: CitySignoff) -> SignoffResult:
        self._decide(cycle_id, "sign_city_recommendation", signoff)
        roles = sorted(
            {
                a.actor.role
                for c, _, a in self.decisions
                if isinstance(a, CitySignoff) and c == cycle_id and a.city_code == signoff.city_code
            }
        )
        return SignoffResult(signoff.city_code, signoff.document_no, roles, complete=len(roles) == 2)

    async def decide_compliance(self, cycle_id: str, decisions: ComplianceDecisions) -> ComplianceResult:
        self._decide(cycle_id, "decide_compliance", decisions)
        return ComplianceResult(decided=len(decisions.decisions), remaining=0)

    async def conclude_expert_review(self, cycle_id: str, conclusion: Conclusion) -> int:
        self._decide(cycle_id, "conclude_expert_review", conclusion)
        return self.proposal_version

    async def decide_finance_concurrence(self, cycle_id: str, decision: ProposalDecision) -> str:
        self._decide(cycle_id, "decide_finance_concurrence", decision)
        return "PARTY_GROUP_APPROVAL" if decision.approve else "PROPOSAL"

    async def resubmit_proposal(self, cycle_id: str, conclusion: Conclusion) -> int:
        self._decide(cycle_id, "resubmit_proposal", conclusion)
        self.proposal_version += 1
        return self.proposal_version

    async def decide_party_group_approval(self, cycle_id: str, decision: ProposalDecision) -> str:
        self._decide(cycle_id, "decide_party_group_approval", decision)
        return "PUBLICITY" if decision.approve else "PROPOSAL"

    async def decide_publicity_outcome(self, cycle_id: str, outcome: PublicityOutcome) -> int:
        self._decide(cycle_id, "decide_publicity_outcome", outcome)
        return 0

    async def conclude_supervision(self, cycle_id: str, conclusion: Conclusion) -> str:
        self._decide(cycle_id, "conclude_supervision", conclusion)
        return "CLOSED"

    async def revise_proposal(self, cycle_id: str, revision: ProposalRevision) -> int:
        self._decide(cycle_id, "revise_proposal", revision)
        self.proposal_version += 1
        return self.proposal_version

    async def extend_deadline(self, cycle_id: str, extension: DeadlineExtension) -> str:
        self._decide(cycle_id, "extend_deadline", extension)
        return extension.new_deadline

    async def resume(self, cycle_id: str, resumption: Resumption) -> str:
        self._decide(cycle_id, "resume", resumption)
        status = self.statuses.get(cycle_id)
        return str(status.phase) if status else ""
