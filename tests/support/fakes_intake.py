"""In-process stand-ins for intake's outbound ports (``services/intake/domain/ports.py``): the
identity registry and the cycle workflows. Each records what it was asked, so a test can prove that
a refused request reached neither."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from aicc.platform.errors import AlreadyExists, DomainError
from services.intake.domain.model import Eligibility, Organization, OrganizationKind
from workflows.cycle.models import (
    CitySignoff,
    ComplianceDecisions,
    ComplianceResult,
    Conclusion,
    CycleInput,
    CycleStatus,
    ProposalDecision,
    PublicityOutcome,
    SignoffResult,
)


@dataclass
class FakeIdentityRegistry:
    """Organisations by id (an unknown one is None, as NOT_FOUND from identity); every organisation
    eligible unless ``screen`` says otherwise."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    screen: dict[str, Eligibility] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)
    checked: list[tuple[str, date]] = field(default_factory=list)

    def enterprise(self, organization_id: str, city_code: str, name: str = "") -> Organization:
        org = Organization(
            organization_id, name or f"企业 {organization_id}", OrganizationKind.ENTERPRISE, city_code
        )
        self.organizations[organization_id] = org
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

    async def eligibility(self, organization_id: str, as_of: date) -> Eligibility:
        self.checked.append((organization_id, as_of))
        return self.screen.get(organization_id, Eligibility(eligible=True))


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

    async def status(self, cycle_id: str) -> CycleStatus | None:
        return self.statuses.get(cycle_id)

    def _decide(self, cycle_id: str, update: str, arg: object) -> None:
        if self.refusal is not None:
            err, self.refusal = self.refusal, None
            raise err
        self.decisions.append((cycle_id, update, arg))

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
