"""Applications: drafted by the applicant enterprise for itself with its registered operating
organisation (Art. 5(3)), submitted inside the window with the authenticity declaration (Art. 8),
screened against the Art. 5 hard rules of the cycle's own policy by the identity registry, and
against intake's own records for an earlier award under the programme (Art. 11, one-time award:
refused or flagged as the policy says). An applicant sees its own organisation's applications, a
city official its city's; another's answers NOT_FOUND. Every status change is kept (``timeline``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import beijing_date
from aicc.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    not_found,
    wrong_phase,
)
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import Clock, UnitOfWork
from services.intake.domain import timeline
from services.intake.domain.cycles import cycle_of, eligibility_rules, require_cycle
from services.intake.domain.model import (
    Application,
    ApplicationDraft,
    ApplicationFilter,
    ApplicationStatus,
    Cycle,
    Declaration,
    Dossier,
    Eligibility,
    EligibilityFailure,
    Material,
    OrganizationKind,
)
from services.intake.domain.ports import IdentityRegistry, IntakeRepository
from workflows.cycle.models import Phase

SERVICE_LINES = ("compute", "corpus", "model_training", "agent_deployment", "security")


def can_see(p: Principal, app: Application) -> bool:
    return authz.can_see_organization(p, app.organization_id, app.city_code)


def visible_or_not_found(p: Principal, app: Application | None, application_id: str) -> Application:
    """Another organisation's or city's application is indistinguishable from a missing one."""
    if app is None or not can_see(p, app):
        raise not_found("application", application_id, "申报项目")
    return app


def check_may_draft(cycle: Cycle) -> None:
    if cycle.phase not in (Phase.PUBLISHED, Phase.APPLYING):
        raise wrong_phase("CreateApplication", cycle.phase, [Phase.PUBLISHED, Phase.APPLYING], "填报申报材料")


def check_may_submit(p: Principal, cycle: Cycle, app: Application, now: datetime) -> None:
    if app.organization_id != p.organization_id:
        raise not_found("application", app.application_id, "申报项目")
    if cycle.phase != Phase.APPLYING:
        raise wrong_phase("SubmitApplication", cycle.phase, Phase.APPLYING, "提交申报")
    if not (cycle.applications_open_at <= now < cycle.applications_close_at):
        raise FailedPrecondition(
            f"the application window is {cycle.applications_open_at.isoformat()} to {cycle.applications_close_at.isoformat()}",
            f"申报时间为 {cycle.applications_open_at.isoformat()} 至 {cycle.applications_close_at.isoformat()}",
            reason="OUTSIDE_WINDOW",
            metadata={"phase": cycle.phase.value},
        )
    if app.status != ApplicationStatus.DRAFT:
        raise FailedPrecondition(
            f"application {app.application_id} is already {app.status}",
            f"该申报已处于 {app.status} 状态，不能重复提交",
            reason="ALREADY_SUBMITTED",
        )


def check_declaration(signer_name: str, accepted: bool) -> None:
    violations = []
    if not signer_name.strip():
        violations.append(
            FieldViolation(
                "declaration.signer_name", "the declaration must be signed by name", "真实性承诺须署名"
            )
        )
    if not accepted:
        violations.append(
            FieldViolation(
                "declaration.accepted",
                "the applicant must accept responsibility for the truthfulness of the materials (Art. 8)",
                "申报单位须承诺对材料真实性负责（第八条）",
            )
        )
    if violations:
        raise InvalidArgument(
            "the authenticity declaration is incomplete (Art. 8)",
            "真实性承诺不完整（第八条）",
            reason="DECLARATION_INCOMPLETE",
            violations=violations,
        )


def _operator_org_invalid() -> InvalidArgument:
    return InvalidArgument(
        "operator_organization_id must be the applicant's registered operating organisation (Art. 5(3))",
        "须填写本企业已登记的专门运营机构（第五条第三项）",
        reason="OPERATOR_ORG_INVALID",
        violations=[
            FieldViolation(
                "operator_organization_id",
                "not an operating organisation of the applicant",
                "不是本企业的运营机构",
            )
        ],
    )


# ---------------------------------------------------------------- use cases


async def create_application(
    *,
    uow: UnitOfWork[IntakeRepository],
    identity: IdentityRegistry,
    principal: Principal,
    draft: ApplicationDraft,
    now: datetime,
) -> Dossier:
    """CreateApplication: a draft of the caller's own organisation, with its operating organisation."""
    if draft.organization_id != principal.organization_id:
        raise authz.denied("an applicant applies for its own organisation only", "只能以本单位名义申报")
    check_may_draft(await require_cycle(uow, draft.cycle_id))
    org = await identity.organization(draft.organization_id)
    if org is None:  # as the registry itself answers
        raise not_found("organization", draft.organization_id, "单位")
    op = await identity.organization(draft.operator_organization_id)
    if (
        op is None
        or op.kind != OrganizationKind.OPERATOR_ORG
        or op.parent_organization_id != org.organization_id
    ):
        raise _operator_org_invalid()
    async with uow() as repo:
        if await repo.application_of(draft.cycle_id, org.organization_id):
            raise AlreadyExists(
                "the organisation already has an application in this cycle",
                "本单位本年度已有申报",
                reason="APPLICATION_EXISTS",
            )
        app = Application(
            application_id=new_id("app"),
            cycle_id=draft.cycle_id,
            organization_id=org.organization_id,
            operator_organization_id=op.organization_id,
            enterprise_name=org.name,
            city_code=org.city_code,
            title=draft.title,
            service_lines=list(draft.service_lines),
            status=ApplicationStatus.DRAFT,
            created_by=principal.user_id,
            created_at=now,
            uscc=org.uscc,
        )
        app.timeline.append(
            timeline.first_step(app.application_id, ApplicationStatus.DRAFT, now, timeline.DRAFTED)
        )
        materials = [
            Material(
                material_id=new_id("mat"),
                application_id=app.application_id,
                kind=m.kind,
                filename=m.filename,
                sha256=m.sha256,
                size_bytes=m.size_bytes,
            )
            for m in draft.materials
        ]
        await repo.add_application(app, materials)
    return Dossier(app, materials)


async def get_application(
    *, uow: UnitOfWork[IntakeRepository], principal: Principal, application_id: str
) -> Dossier:
    """GetApplication: an application the caller may see, with its materials."""
    async with uow() as repo:
        app = visible_or_not_found(principal, await repo.application(application_id), application_id)
        return Dossier(app, await repo.materials(app.application_id))


def visible_filter(p: Principal, where: ApplicationFilter) -> ApplicationFilter:
    """The filter narrowed to what the caller may see: province-wide readers as asked, a city
    official the own city whatever was asked, an applicant the own organisation."""
    if authz.is_province_wide(p):
        return replace(where, organization_id=None)
    if p.has(*authz.CITY_ROLES):
        return replace(where, city_code=p.city_code, organization_id=None)
    return replace(where, organization_id=p.organization_id)


async def list_applications(
    *,
    uow: UnitOfWork[IntakeRepository],
    principal: Principal,
    where: ApplicationFilter,
    page: PageRequest,
) -> Page[Dossier]:
    """ListApplications: one page of the applications the caller may see that match ``where``,
    each with its materials (review reads the recommended ones, materials included, from here)."""
    async with uow() as repo:
        found = await repo.applications_page(visible_filter(principal, where), page)
        materials = await repo.materials_of([a.application_id for a in found.items])
    return Page([Dossier(a, materials[a.application_id]) for a in found.items], found.next_cursor)


def earlier_award_finding(earlier: list[Application], mode: str) -> EligibilityFailure | None:
    """Art. 11 (一次性奖补): an organisation awarded in an earlier cycle is refused, or only flagged
    to the reviewers when the cycle's policy says ``earlier_award: flag``."""
    if not earlier:
        return None
    cycles = "、".join(sorted({a.cycle_id for a in earlier}))
    flag = mode == "flag"
    outcome = (
        ("flagged for the reviewers", "提请评审关注") if flag else ("not eligible again", "不得重复申报")
    )
    return EligibilityFailure(
        rule="earlier_award",
        article="Art. 11",
        message=f"already awarded under the programme in cycle {cycles} (one-time award, Art. 11): {outcome[0]}",
        message_zh=f"已在 {cycles} 年度获得奖补（第十一条一次性奖补），{outcome[1]}",
        flag_only=flag,
    )


def screened(result: Eligibility, finding: EligibilityFailure | None) -> Eligibility:
    """Identity's screen together with intake's own finding on an earlier award."""
    if finding is None:
        return result
    return Eligibility(result.eligible and finding.flag_only, [*result.failures, finding])


def _declared(app: Application, declaration: Declaration, at: datetime, screen: Eligibility) -> None:
    app.declaration = Declaration(declaration.signer_name, declaration.signer_title, True, at)
    app.submitted_at = at
    app.eligibility_failures = list(screen.failures)


async def submit_application(
    *,
    uow: UnitOfWork[IntakeRepository],
    identity: IdentityRegistry,
    principal: Principal,
    application_id: str,
    declaration: Declaration,
    clock: Clock,
) -> Dossier:
    """SubmitApplication: the caller's own draft, inside the window, with the declaration signed;
    the eligibility screen (the cycle policy's rules, and an earlier award under the programme)
    decides SUBMITTED or INELIGIBLE, its failures and flags recorded."""
    check_declaration(declaration.signer_name, declaration.accepted)
    now = clock()
    async with uow() as repo:
        app = visible_or_not_found(principal, await repo.application(application_id), application_id)
        cycle = await cycle_of(repo, app.cycle_id)
        check_may_submit(principal, cycle, app, now)
    rules = eligibility_rules(cycle)
    result = await identity.eligibility(app.organization_id, beijing_date(now), rules)
    async with uow() as repo:
        app = visible_or_not_found(
            principal, await repo.application(application_id, for_update=True), application_id
        )
        # Nothing changed meanwhile (another submission, the window closing).
        check_may_submit(principal, await cycle_of(repo, app.cycle_id), app, clock())
        earlier = await repo.awarded_elsewhere(app.organization_id, app.cycle_id)
        screen = screened(result, earlier_award_finding(earlier, rules.earlier_award if rules else "refuse"))
        _declared(app, declaration, now, screen)
        if screen.eligible:
            status, note = ApplicationStatus.SUBMITTED, timeline.submitted_note(screen.failures)
        else:
            status, note = ApplicationStatus.INELIGIBLE, timeline.ineligible_note(screen.failures)
        await timeline.move(repo, app, status, at=now, note=note)
        return Dossier(app, await repo.materials(app.application_id))
