"""``aicc.audit.v1.AuditService`` on every service's port: the audit administrator reads that
service's own audit trail (``aicc/platform/audit.py``) over gRPC, filtered by actor, object, action
and time, in AIP-158 pages (tokens bound to the caller and the filter). The platform registers it
for each service (:class:`aicc.platform.server.ServiceHost`); the authorisation table gives it to
``audit_admin`` alone, and the interceptor audits each read like any other call."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select

from aicc.audit.v1 import audit_pb2, audit_pb2_grpc
from aicc.platform.audit import audit_log
from aicc.platform.auth import current_principal
from aicc.platform.convert import ts
from aicc.platform.db import Database
from aicc.platform.errors import Unauthenticated
from aicc.platform.pagination import PageTokens, page_size
from aicc.platform.validation import Check

SERVICE_NAME = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name
RPC = "ListAuditRecords"
# Timestamps a request may carry (year 1..9999 as protobuf allows; anything else is refused).
_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799


def _time(v: Check, field: str, present: bool, t: Timestamp) -> datetime | None:
    if not present:
        return None
    if not (_MIN_SECONDS <= t.seconds <= _MAX_SECONDS) or not (0 <= t.nanos < 1_000_000_000):
        v.fail(field, "is not a valid time", "不是有效时间")
        return None
    return t.ToDatetime(tzinfo=UTC)


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, db: Database, page_tokens: PageTokens) -> None:
        self.db = db
        self.page_tokens = page_tokens

    async def ListAuditRecords(
        self, request: audit_pb2.ListAuditRecordsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListAuditRecordsResponse:
        v = Check()
        v.max_length("actor", request.actor, 128)
        v.max_length("object_id", request.object_id, 128)
        v.max_length("action", request.action, 200)
        v.non_negative("page_size", request.page_size)
        start = _time(v, "start_time", request.HasField("start_time"), request.start_time)
        end = _time(v, "end_time", request.HasField("end_time"), request.end_time)
        if start and end and end <= start:
            v.fail("end_time", "must be after start_time", "须晚于开始时间")
        v.done()
        p = current_principal.get()
        if p is None:  # the interceptor authenticated the call; never reached without it
            raise Unauthenticated("authentication required", "需要登录认证", reason="UNAUTHENTICATED")
        query = {
            "actor": request.actor,
            "object_id": request.object_id,
            "action": request.action,
            "start": start.isoformat() if start else "",
            "end": end.isoformat() if end else "",
        }
        page = self.page_tokens.read(
            request.page_token, caller=p.user_id, rpc=RPC, query=query, size=page_size(request.page_size)
        )
        c = audit_log.c
        q = select(audit_log)
        if request.actor:
            q = q.where(c.actor == request.actor)
        if request.object_id:
            q = q.where(c.object_id == request.object_id)
        if request.action:
            action = request.action
            q = q.where(c.action == action if action.startswith("/") else c.action.endswith("/" + action))
        if start:
            q = q.where(c.at >= start)
        if end:
            q = q.where(c.at < end)
        if page.after:
            q = q.where(c.seq > int(str(page.after[0])))
        async with self.db.transaction() as session:
            rows = list((await session.execute(q.order_by(c.seq).limit(page.size + 1))).mappings())
        more = len(rows) > page.size
        rows = rows[: page.size]
        cursor = [int(rows[-1]["seq"])] if more else None
        return audit_pb2.ListAuditRecordsResponse(
            records=[
                audit_pb2.AuditRecord(
                    seq=int(r["seq"]),
                    time=ts(r["at"]),
                    actor=r["actor"],
                    roles=[x for x in str(r["roles"]).split(",") if x],
                    city_code=r["city"],
                    action=r["action"],
                    object_id=r["object_id"],
                    outcome=r["outcome"],
                    trace_id=r["trace_id"],
                    mac=r["mac"],
                )
                for r in rows
            ],
            next_page_token=self.page_tokens.issue(cursor, caller=p.user_id, rpc=RPC, query=query),
        )
