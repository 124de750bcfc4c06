"""Applications: drafted by the applicant enterprise, submitted inside the window with the
authenticity declaration (Art. 8), screened against the Art. 5 hard rules."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, not_found, wrong_phase
from services.intake.store import ApplicationRow, CycleRow

SERVICE_LINES = ("compute", "corpus", "model_training", "agent_deployment", "security")

DRAFT, SUBMITTED, INELIGIBLE, RECOMMENDED, NOT_RECOMMENDED = (
    "DRAFT",
    "SUBMITTED",
    "INELIGIBLE",
    "RECOMMENDED",
    "NOT_RECOMMENDED",
)


def can_see(p: Principal, app: ApplicationRow) -> bool:
    return authz.can_see_organization(p, app.organization_id, app.city_code)


def visible_or_not_found(p: Principal, app: ApplicationRow | None, application_id: str) -> ApplicationRow:
    """Another organisation's or city's application is indistinguishable from a missing one."""
    if app is None or not can_see(p, app):
        raise not_found("application", application_id, "申报项目")
    return app


def check_may_draft(cycle: CycleRow) -> None:
    if cycle.phase not in ("PUBLISHED", "APPLYING"):
        raise wrong_phase("CreateApplication", cycle.phase, ["PUBLISHED", "APPLYING"], "填报申报材料")


def check_may_submit(p: Principal, cycle: CycleRow, app: ApplicationRow, now: datetime) -> None:
    if app.organization_id != p.organization_id:
        raise not_found("application", app.application_id, "申报项目")
    if cycle.phase != "APPLYING":
        raise wrong_phase("SubmitApplication", cycle.phase, "APPLYING", "提交申报")
    if not (cycle.applications_open_at <= now < cycle.applications_close_at):
        raise FailedPrecondition(
            f"the application window is {cycle.applications_open_at.isoformat()} to {cycle.applications_close_at.isoformat()}",
            f"申报时间为 {cycle.applications_open_at.isoformat()} 至 {cycle.applications_close_at.isoformat()}",
            reason="OUTSIDE_WINDOW",
            metadata={"phase": cycle.phase},
        )
    if app.status != DRAFT:
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
