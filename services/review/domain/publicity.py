"""Publicity and announcement (Art. 10).

The approved proposal version is published for the policy's number of working days: a notice
records the period, the version and where it was published. Anyone may object to a listed
application under their real name and contact; province industry investigates (investigator,
evidence, conclusion, the replies to the objector and to the applicant, dates). An upheld objection
removes the application as a new proposal version (the reserves move up, :func:`proposals.withdrawn`).
Publicity closes only once every objection is decided; when upheld objections changed the list, the
new version goes back to PROPOSAL — finance concurrence, party-group approval and its own
publicity — before anything is announced or paid. An unchanged list is announced with its document
number (文号); the announcement keeps the announced lines as they were announced.

The objector's contact is SM4-GCM encrypted at rest, bound to its objection; it is shown in clear
to province industry (who investigates and must reach the objector) and masked to everyone else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI, beijing_date
from aicc.platform.crypto import PREFIX as ENCRYPTED_PREFIX
from aicc.platform.crypto import DecryptionError, FieldCipher, mask_contact
from aicc.platform.errors import FailedPrecondition, FieldViolation, invalid, not_found, present, wrong_phase
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.review.domain.compliance import review_cycle
from services.review.domain.model import (
    Announcement,
    Objection,
    ObjectionStatus,
    Phase,
    Proposal,
    ProposalBasis,
    PublicityNotice,
    ReviewCycle,
    few,
)
from services.review.domain.ports import ReviewRepository, ReviewUnitOfWork
from services.review.domain.proposals import completed, find_proposal, is_listed, withdrawn

# ------------------------------------------------------------------------------------ notices


async def _publicised(repo: ReviewRepository, cycle: ReviewCycle) -> PublicityNotice | None:
    """The notice of the publicity open or last held (None before the first)."""
    return await repo.latest_notice(cycle.cycle_id)


async def open_publicity(
    uow: ReviewUnitOfWork,
    *,
    cycle_id: str,
    proposal_version: int,
    ends_at: datetime,
    published_where: str,
    now: datetime,
) -> PublicityNotice:
    """Publishes the latest proposal version (``proposal_version`` 0 = the latest; another than the
    latest is refused) until ``ends_at``, at ``published_where`` (empty: the policy's
    ``publication.published_where``). Repeating it answers the notice already open."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        last = await _publicised(repo, cycle)
        if (
            cycle.phase != Phase.PROPOSAL
            and last is not None
            and proposal_version in (0, last.proposal_version)
        ):
            return last  # a retry
        if cycle.phase != Phase.PROPOSAL:
            raise wrong_phase("OpenPublicity", cycle.phase, Phase.PROPOSAL, "开始公示")
        latest = await find_proposal(repo, cycle_id=cycle_id, version=0)
        if proposal_version not in (0, latest.version):
            raise FailedPrecondition(
                f"proposal v{proposal_version} is not the latest version (v{latest.version}); only the latest "
                "is publicised",
                f"第 {proposal_version} 版不是最新版本（第 {latest.version} 版），只能公示最新版本",
                reason="STALE_PROPOSAL_VERSION",
                metadata={"latest_version": str(latest.version)},
            )
        notice = PublicityNotice(
            cycle_id=cycle_id,
            proposal_version=latest.version,
            starts_at=now,
            ends_at=ends_at,
            published_where=published_where or cycle.policy().publication.published_where,
        )
        await repo.add_notice(notice)
        cycle.phase = Phase.PUBLICITY
        cycle.publicity_ends_at = ends_at
        cycle.publicity_proposal_version = latest.version
        await repo.save_cycle(cycle)
        return notice


@dataclass(frozen=True)
class NoticeView:
    notice: PublicityNotice
    objections: int  # filed during this notice's publicity


async def notices(uow: ReviewUnitOfWork, *, cycle_id: str, page: PageRequest) -> Page[NoticeView]:
    """One page of the cycle's publicity notices, by proposal version, each with its objections."""
    async with uow() as repo:
        await review_cycle(repo, cycle_id)
        found = await repo.notices_page(cycle_id, page)
        filed = [o.publicised_version for o in await repo.objections(cycle_id)]
        return Page(
            [NoticeView(n, sum(1 for v in filed if v == n.proposal_version)) for n in found.items],
            found.next_cursor,
        )


async def find_notice(repo: ReviewRepository, *, cycle_id: str, version: int) -> PublicityNotice:
    """The notice of a proposal version (0 = the latest notice); NOT_FOUND when never publicised."""
    await review_cycle(repo, cycle_id)
    found = await (repo.latest_notice(cycle_id) if version == 0 else repo.notice(cycle_id, version))
    if found is None:
        raise not_found("publicity notice", f"{cycle_id} v{version}" if version else cycle_id, "公示")
    return found


# ------------------------------------------------------------------------------------ objections


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


def _check_open_for_objections(cycle: ReviewCycle, now: datetime) -> None:
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
        _check_open_for_objections(cycle, now)
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
            publicised_version=cycle.publicity_proposal_version,
        )
        await repo.add_objection(objection)
        return objection


@dataclass(frozen=True)
class Investigation:
    """What province industry found (调查核实) and told the objector and the applicant."""

    upheld: bool
    findings: str
    investigator: str
    evidence: list[str]
    reply_to_objector: str
    reply_to_applicant: str
    investigated_on: str  # YYYY-MM-DD, Asia/Shanghai; not before the objection was filed


def _record(obj: Objection, p: Principal, inv: Investigation, now: datetime) -> None:
    filed_on = beijing_date(obj.filed_at).isoformat()
    if inv.investigated_on < filed_on:
        raise invalid(
            [
                FieldViolation(
                    "investigated_on",
                    f"{inv.investigated_on} is before the objection was filed ({filed_on})",
                    f"{inv.investigated_on} 早于异议提出日期（{filed_on}）",
                )
            ]
        )
    obj.status = ObjectionStatus.UPHELD if inv.upheld else ObjectionStatus.DISMISSED
    obj.findings = inv.findings
    obj.investigator = inv.investigator
    obj.evidence = list(inv.evidence)
    obj.reply_to_objector = inv.reply_to_objector
    obj.reply_to_applicant = inv.reply_to_applicant
    obj.investigated_on = inv.investigated_on
    obj.decided_by = p.user_id
    obj.decided_at = now


async def _without(
    repo: ReviewRepository, cycle: ReviewCycle, obj: Objection, now: datetime
) -> Proposal | None:
    """The version an upheld objection makes: the latest without the application (None when an
    earlier objection already removed it)."""
    latest = await completed(repo, cycle, present(await repo.latest_proposal(obj.cycle_id), "proposal"))
    line = next((x for x in latest.lines if x["application_id"] == obj.application_id), None)
    if line is None:
        return None
    name = line.get("enterprise", "")
    lines, allocated = withdrawn(cycle.policy(), latest, obj.application_id, obj.objection_id)
    return Proposal(
        cycle_id=obj.cycle_id,
        version=latest.version + 1,
        lines=lines,
        budget_fen=latest.budget_fen,
        allocated_fen=allocated,
        reason=(
            f"objection {obj.objection_id} upheld: application {obj.application_id} ({name}) removed from "
            f"v{latest.version}, reserves moved up / 异议 {obj.objection_id} 经调查属实：移除申报 "
            f"{obj.application_id}（{name}），备选依次递补"
        ),
        removed_application_ids=sorted(set(latest.removed_application_ids) | {obj.application_id}),
        created_at=now,
        basis=ProposalBasis.OBJECTION_UPHELD,
        previous_version=latest.version,
    )


async def record_investigation(
    uow: ReviewUnitOfWork, p: Principal, *, objection_id: str, investigation: Investigation, now: datetime
) -> tuple[Objection, Proposal | None]:
    """Dismissed → no change. Upheld → the application is removed from the latest version as a new
    version (the reserves move up; earlier versions are kept). Either way the investigation is on
    the objection."""
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
        _record(obj, p, investigation, now)
        proposal = await _without(repo, cycle, obj, now) if investigation.upheld else None
        if proposal is not None:
            await repo.add_proposal(proposal)
            obj.resulting_proposal_version = proposal.version
        await repo.save_objection(obj)
        return obj, proposal


async def objections(uow: ReviewUnitOfWork, *, cycle_id: str, page: PageRequest) -> Page[Objection]:
    """One page of the cycle's objections, in the order they were filed."""
    async with uow() as repo:
        await review_cycle(repo, cycle_id)
        return await repo.objections_page(cycle_id, page)


# ------------------------------------------------------------------------------------ closing


@dataclass(frozen=True)
class Closed:
    """How a publicity ended: the proposal it closed with, and whether objections changed it."""

    proposal: Proposal
    changed: bool


async def _pending(repo: ReviewRepository, cycle_id: str) -> None:
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


async def close_publicity(uow: ReviewUnitOfWork, *, cycle_id: str, now: datetime) -> Closed:
    """Ends publicity (refused while an objection is under investigation). Unchanged → the list is
    final (PUBLICITY_CLOSED) and may be announced; changed by upheld objections → back to PROPOSAL
    with the new version, which needs concurrence, approval and its own publicity. Repeating it
    answers how the last publicity closed."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        notice = await _publicised(repo, cycle)
        if cycle.phase != Phase.PUBLICITY and notice is not None and notice.closed_at is not None:
            version = notice.result_version or notice.proposal_version
            return Closed(await find_proposal(repo, cycle_id=cycle_id, version=version), notice.changed)
        if cycle.phase != Phase.PUBLICITY or notice is None:
            raise wrong_phase("ClosePublicity", cycle.phase, Phase.PUBLICITY, "结束公示")
        await _pending(repo, cycle_id)
        latest = await find_proposal(repo, cycle_id=cycle_id, version=0)
        notice.closed_at = now
        notice.changed = latest.version != notice.proposal_version
        notice.result_version = latest.version
        await repo.save_notice(notice)
        cycle.phase = Phase.PROPOSAL if notice.changed else Phase.PUBLICITY_CLOSED
        await repo.save_cycle(cycle)
        return Closed(latest, notice.changed)


# ------------------------------------------------------------------------------- announcement


async def _announceable(repo: ReviewRepository, cycle: ReviewCycle, version: int) -> Proposal:
    """The final list: the version whose publicity closed unchanged (``version`` 0 or that one)."""
    if cycle.phase not in (Phase.PUBLICITY_CLOSED, Phase.ANNOUNCED):
        raise wrong_phase("RecordAnnouncement", cycle.phase, Phase.PUBLICITY_CLOSED, "记录发文公布")
    notice = await _publicised(repo, cycle)
    final = (notice.result_version or notice.proposal_version) if notice else 0
    if not final:
        final = present(await repo.latest_proposal(cycle.cycle_id), "proposal").version
    if version not in (0, final):
        raise FailedPrecondition(
            f"proposal v{version} is not the final list; v{final} was publicised without change",
            f"第 {version} 版不是最终名单；经公示无变化的是第 {final} 版",
            reason="NOT_THE_FINAL_LIST",
            metadata={"final_version": str(final)},
        )
    return await find_proposal(repo, cycle_id=cycle.cycle_id, version=final)


def _same(recorded: Announcement, version: int, document_no: str) -> None:
    if version in (0, recorded.proposal_version) and document_no == recorded.document_no:
        return
    raise FailedPrecondition(
        f"cycle {recorded.cycle_id} was already announced as {recorded.document_no} "
        f"(v{recorded.proposal_version}); an announcement is not changed",
        f"本周期已以 {recorded.document_no}（第 {recorded.proposal_version} 版）发文公布，不得更改",
        reason="ALREADY_ANNOUNCED",
        metadata={"document_no": recorded.document_no, "proposal_version": str(recorded.proposal_version)},
    )


async def record_announcement(
    uow: ReviewUnitOfWork,
    *,
    cycle_id: str,
    proposal_version: int,
    document_no: str,
    announced_by: str,
    now: datetime,
) -> Announcement:
    """The announcement (发文公布) of the final list with its document number: the funded lines of
    the version publicised without change. Repeating it answers the recorded announcement; another
    number or version is refused."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        recorded = await repo.announcement(cycle_id)
        if recorded is not None:
            _same(recorded, proposal_version, document_no)
            return recorded
        final = await _announceable(repo, cycle, proposal_version)
        announcement = Announcement(
            cycle_id=cycle_id,
            proposal_version=final.version,
            document_no=document_no,
            announced_at=now,
            announced_by=announced_by,
            lines=final.funded(),
        )
        await repo.add_announcement(announcement)
        cycle.phase = Phase.ANNOUNCED
        cycle.announced_at = now
        await repo.save_cycle(cycle)
        return announcement


async def find_announcement(repo: ReviewRepository, cycle_id: str) -> Announcement:
    await review_cycle(repo, cycle_id)
    found = await repo.announcement(cycle_id)
    if found is None:
        raise not_found("announcement", cycle_id, "发文公布")
    return found


async def get_announcement(uow: ReviewUnitOfWork, *, cycle_id: str) -> Announcement:
    """The cycle's announcement; NOT_FOUND for an unknown cycle or one not yet announced."""
    async with uow() as repo:
        return await find_announcement(repo, cycle_id)
