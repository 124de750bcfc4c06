"""The year's records as the auditor reads them back over gRPC, one line per kind of decision: each
record lives in the service that owns it (issue 9), and the demo shows where, so an operator can
read the same with grpcurl or the portal."""

from __future__ import annotations

from aicc.cli.demo.province import Demo, applicant_of, say
from aicc.cli.demo.year import pages
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.clock import SHANGHAI
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb

AUDITOR = "sd.auditor"


async def read_records(d: Demo, cycle_id: str) -> dict[str, str]:
    """What the auditor reads of ``cycle_id`` (RPC → summary), and the first awardee's own view of its
    application's status history; also printed, one line each."""
    await d.login(AUDITOR)
    intake, review = d.stub(AUDITOR, "intake"), d.stub(AUDITOR, "review")
    funding, supervision = d.stub(AUDITOR, "funding"), d.stub(AUDITOR, "supervision")
    out: dict[str, str] = {}

    recs = [
        r
        async for r in pages(
            intake.ListRecommendations, inpb.ListRecommendationsRequest(cycle_id=cycle_id), "recommendations"
        )
    ]
    opinions = sum(len(i.opinions) for r in recs for i in r.items)
    out["intake.ListRecommendations"] = (
        f"{len(recs)} joint recommendations ({', '.join(r.document_no for r in recs)}), "
        f"{opinions} bureau opinions"
    )
    reviews = [
        r
        async for r in pages(
            review.ListComplianceReviews, rpb.ListComplianceReviewsRequest(cycle_id=cycle_id), "reviews"
        )
    ]
    refused = sum(1 for r in reviews if not r.compliant)
    out["review.ListComplianceReviews"] = f"{len(reviews)} compliance results, {refused} with reasons"
    concurrences = [
        c
        async for c in pages(
            funding.ListFinanceConcurrences,
            fpb.ListFinanceConcurrencesRequest(cycle_id=cycle_id),
            "concurrences",
        )
    ]
    out["funding.ListFinanceConcurrences"] = "; ".join(
        f"v{c.proposal_version} {'concurred' if c.agree else 'returned'} by {c.decided_by_name}"
        for c in concurrences
    )
    decisions = [
        x
        async for x in pages(
            intake.ListCycleDecisions, inpb.ListCycleDecisionsRequest(cycle_id=cycle_id), "decisions"
        )
    ]
    party = [x for x in decisions if x.kind == inpb.CYCLE_DECISION_KIND_PARTY_GROUP]
    out["intake.ListCycleDecisions"] = f"{len(decisions)} decisions; party group: " + "; ".join(
        f"v{x.proposal_version} {'approved' if x.approve else 'not approved'} ({x.reference})" for x in party
    )
    notices = [
        n
        async for n in pages(
            review.ListPublicityNotices, rpb.ListPublicityNoticesRequest(cycle_id=cycle_id), "notices"
        )
    ]
    out["review.ListPublicityNotices"] = "; ".join(
        f"v{n.proposal_version} {n.starts_at.ToDatetime(SHANGHAI):%Y-%m-%d}–{n.ends_at.ToDatetime(SHANGHAI):%Y-%m-%d} "
        f"({n.published_where})"
        for n in notices
    )
    objections = [
        o
        async for o in pages(
            review.ListObjections, rpb.ListObjectionsRequest(cycle_id=cycle_id), "objections"
        )
    ]
    out["review.ListObjections"] = (
        "; ".join(
            f"{rpb.ObjectionStatus.Name(o.status).removeprefix('OBJECTION_STATUS_').lower()}, "
            f"investigated by {o.investigator} on {o.investigated_on}, {len(o.evidence)} evidence"
            for o in objections
        )
        or "none"
    )
    announcement = (await review.GetAnnouncement(rpb.GetAnnouncementRequest(cycle_id=cycle_id))).announcement
    out["review.GetAnnouncement"] = (
        f"{announcement.document_no}, {announcement.announced_at.ToDatetime(SHANGHAI):%Y-%m-%d}, "
        f"{len(announcement.lines)} lines"
    )
    conclusion = (
        await supervision.GetSupervisionConclusion(spb.GetSupervisionConclusionRequest(cycle_id=cycle_id))
    ).conclusion
    out["supervision.GetSupervisionConclusion"] = (
        f"{conclusion.summary} ({conclusion.evaluated}/{conclusion.awards} evaluated)"
    )
    paid = next(line for line in announcement.lines if line.amount_fen > 0)
    applicant = applicant_of(paid.enterprise_name)
    await d.login(applicant)
    mine = [
        a
        async for a in pages(
            d.stub(applicant, "intake").ListApplications,
            inpb.ListApplicationsRequest(cycle_id=cycle_id),
            "applications",
        )
    ]
    out[f"intake.ListApplications ({applicant})"] = "; ".join(
        " → ".join(
            inpb.ApplicationStatus.Name(s.status).removeprefix("APPLICATION_STATUS_") for s in a.timeline
        )
        for a in mine
    )
    say("")
    say(f"Records / 记录 — cycle {cycle_id}, as the auditor reads them")
    for rpc, summary in out.items():
        say(f"  {rpc:<38} {summary}")
    return out
