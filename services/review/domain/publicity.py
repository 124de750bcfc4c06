"""Publicity (Art. 10): the approved proposal is published for the policy's number of working days;
anyone may object to a listed application under their real name and contact; province industry
investigates, and an upheld objection removes the application and recomputes the proposal as a new
version (the reserve list moves up). Publicity closes only once every objection is decided.

The objector's contact is SM4-GCM encrypted at rest, bound to its objection; it is shown in clear
to province industry (who investigates and must reach the objector) and masked to everyone else."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI
from aicc.platform.crypto import PREFIX as ENCRYPTED_PREFIX
from aicc.platform.crypto import DecryptionError, FieldCipher, mask_contact
from aicc.platform.errors import FailedPrecondition, not_found, present, wrong_phase
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.review.domain.compliance import review_cycle
from services.review.domain.model import Objection, ObjectionStatus, Phase, Proposal, few
from services.review.domain.ports import ReviewUnitOfWork
from services.review.domain.proposals import compute_lines, find_proposal, is_listed


async def open_publicity(
    uow: ReviewUnitOfWork, *, cycle_id: str, proposal_version: int, ends_at: datetime
) -> None:
    """Publishes a proposal version (0 = the latest) until ``ends_at``. Repeating it changes nothing."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        if cycle.phase in (Phase.PUBLICITY, Phase.ANNOUNCED):
            return
        if cycle.phase != Phase.PROPOSAL:
            raise wrong_phase("OpenPublicity", cycle.phase, Phase.PROPOSAL, "开始公示")
        found = await find_proposal(repo, cycle_id=cycle_id, version=proposal_version)
        cycle.phase = Phase.PUBLICITY
        cycle.publicity_ends_at = ends_at
        cycle.publicity_proposal_version = found.version
        await repo.save_cycle(cycle)


def _contact_aad(objection_id: str) -> str:
    return f"objections.objector_contact:{objection_id}"


def objector_contact_for(p: Principal, objection: Objection, cipher: FieldCipher) -> str:
    """The objector's contact as ``p`` may see it: in clear for province industry (who investigates
    and must reach the objector), masked for everyone else. Never logged."""
    try:
        clear = cipher.decrypt(objection.objector_contact, _contact_aad(objection.objection_id))
    except DecryptionError:
        return "***"  # tampered, moved from another row or another key: show nothing of it
    return clear if p.has(authz.PROVINCE_INDUSTRY) else mask_contact(clear)


async def encrypt_clear_contacts(uow: ReviewUnitOfWork, cipher: FieldCipher) -> int:
    """Encrypts contacts stored in clear before they were encrypted at rest (run at start-up;
    idempotent). Returns how many objections it changed."""
    async with uow() as repo:
        found = await repo.objections_without_prefix(ENCRYPTED_PREFIX)
        for o in found:
            o.objector_contact = cipher.encrypt(o.objector_contact, _contact_aad(o.objection_id))
            await repo.save_objection(o)
        return len(found)


async def file_objection(
    uow: ReviewUnitOfWork,
    p: Principal,
    cipher: FieldCipher,
    *,
    cycle_id: str,
    application_id: str,
    objector_name: str,
    objector_contact: str,
    content: str,
    now: datetime,
) -> Objection:
    """A real-name objection to an application listed (award or reserve) on the publicised
    proposal, during the publicity period."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        if cycle.phase != Phase.PUBLICITY:
            raise wrong_phase("FileObjection", cycle.phase, Phase.PUBLICITY, "提出异议")
        if cycle.publicity_ends_at is not None and now >= cycle.publicity_ends_at:
            ends = cycle.publicity_ends_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            raise FailedPrecondition(
                f"publicity period ended at {ends} (Asia/Shanghai); objections are no longer accepted",
                f"公示期已于 {ends} 结束，不再受理异议",
                reason="PUBLICITY_ENDED",
                metadata={"ends_at": cycle.publicity_ends_at.isoformat()},
            )
        latest = await repo.latest_proposal(cycle_id)
        line = next(
            (x for x in (latest.lines if latest else []) if x["application_id"] == application_id), None
        )
        if line is None or not is_listed(line):
            raise not_found("application in the publicised proposal", application_id, "公示名单中的申报")
        objection_id = new_id("obj")
        objection = Objection(
            objection_id=objection_id,
            cycle_id=cycle_id,
            application_id=application_id,
            objector_name=objector_name.strip(),
            objector_contact=cipher.encrypt(objector_contact.strip(), _contact_aad(objection_id)),
            content=content,
            filed_by=p.user_id,
            status=ObjectionStatus.UNDER_INVESTIGATION,
            filed_at=now,
        )
        await repo.add_objection(objection)
        return objection


async def record_investigation(
    uow: ReviewUnitOfWork, p: Principal, *, objection_id: str, upheld: bool, findings: str, now: datetime
) -> tuple[Objection, Proposal | None]:
    """Dismissed → no change. Upheld → the application is removed and the proposal recomputed
    without it as a new version (the reserve list moves up; earlier versions are kept)."""
    async with uow() as repo:
        obj = await repo.objection(objection_id, lock=True)
        if obj is None:
            raise not_found("objection", objection_id, "异议")
        cycle = await review_cycle(repo, obj.cycle_id, lock=True)
        if obj.status != ObjectionStatus.UNDER_INVESTIGATION:
            raise FailedPrecondition(
                f"objection {objection_id} is already {obj.status}; its investigation was recorded",
                f"异议 {objection_id} 已有调查结论（{obj.status}）",
                reason="ALREADY_INVESTIGATED",
                metadata={"status": obj.status},
            )
        obj.findings = findings
        obj.decided_by = p.user_id
        obj.decided_at = now
        if not upheld:
            obj.status = ObjectionStatus.DISMISSED
            await repo.save_objection(obj)
            return obj, None
        obj.status = ObjectionStatus.UPHELD
        latest = await repo.latest_proposal(obj.cycle_id)
        latest = present(latest, "proposal")
        removed = sorted(set(latest.removed_application_ids) | {obj.application_id})
        lines, allocated = await compute_lines(repo, cycle, removed=removed, budget_fen=latest.budget_fen)
        name = next(
            (x.get("enterprise", "") for x in latest.lines if x["application_id"] == obj.application_id), ""
        )
        proposal = Proposal(
            cycle_id=obj.cycle_id,
            version=latest.version + 1,
            lines=lines,
            budget_fen=latest.budget_fen,
            allocated_fen=allocated,
            reason=(
                f"objection {obj.objection_id} upheld: application {obj.application_id} ({name}) removed and the "
                f"proposal recomputed without it / 异议 {obj.objection_id} 经调查属实：移除申报 {obj.application_id}"
                f"（{name}），重新计算"
            ),
            removed_application_ids=removed,
            created_at=now,
        )
        await repo.add_proposal(proposal)
        obj.resulting_proposal_version = proposal.version
        await repo.save_objection(obj)
        return obj, proposal


async def close_publicity(uow: ReviewUnitOfWork, *, cycle_id: str, now: datetime) -> Proposal:
    """Ends publicity (refused while an objection is under investigation); answers the final
    proposal. Repeating it answers the same proposal."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        if cycle.phase == Phase.ANNOUNCED:
            return await find_proposal(repo, cycle_id=cycle_id, version=0)
        if cycle.phase != Phase.PUBLICITY:
            raise wrong_phase("ClosePublicity", cycle.phase, Phase.PUBLICITY, "结束公示")
        pending = [
            o.objection_id
            for o in await repo.objections(cycle_id)
            if o.status == ObjectionStatus.UNDER_INVESTIGATION
        ]
        if pending:
            raise FailedPrecondition(
                f"objections still under investigation: {few(pending)}",
                f"仍有异议在调查核实中：{few(pending)}",
                reason="OBJECTIONS_PENDING",
                metadata={"objections": few(pending)},
            )
        cycle.phase = Phase.ANNOUNCED
        cycle.announced_at = now
        await repo.save_cycle(cycle)
        return await find_proposal(repo, cycle_id=cycle_id, version=0)


async def objections(uow: ReviewUnitOfWork, *, cycle_id: str, page: PageRequest) -> Page[Objection]:
    """One page of the cycle's objections, in the order they were filed."""
    async with uow() as repo:
        await review_cycle(repo, cycle_id)
        return await repo.objections_page(cycle_id, page)
