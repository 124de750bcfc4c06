import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_UNSPECIFIED: _ClassVar[Tier]
    TIER_EXCELLENT: _ClassVar[Tier]
    TIER_ADVANCED: _ClassVar[Tier]
    TIER_NONE: _ClassVar[Tier]

class AssignmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSIGNMENT_STATUS_UNSPECIFIED: _ClassVar[AssignmentStatus]
    ASSIGNMENT_STATUS_PENDING_DECLARATION: _ClassVar[AssignmentStatus]
    ASSIGNMENT_STATUS_ACCEPTED: _ClassVar[AssignmentStatus]
    ASSIGNMENT_STATUS_RECUSED: _ClassVar[AssignmentStatus]
    ASSIGNMENT_STATUS_SCORED: _ClassVar[AssignmentStatus]

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_XLSX: _ClassVar[ExportFormat]
    EXPORT_FORMAT_PDF: _ClassVar[ExportFormat]

class ObjectionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECTION_STATUS_UNSPECIFIED: _ClassVar[ObjectionStatus]
    OBJECTION_STATUS_UNDER_INVESTIGATION: _ClassVar[ObjectionStatus]
    OBJECTION_STATUS_UPHELD: _ClassVar[ObjectionStatus]
    OBJECTION_STATUS_DISMISSED: _ClassVar[ObjectionStatus]

class OnSiteReviewKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ON_SITE_REVIEW_KIND_UNSPECIFIED: _ClassVar[OnSiteReviewKind]
    ON_SITE_REVIEW_KIND_DEFENCE: _ClassVar[OnSiteReviewKind]
    ON_SITE_REVIEW_KIND_SITE_VISIT: _ClassVar[OnSiteReviewKind]
TIER_UNSPECIFIED: Tier
TIER_EXCELLENT: Tier
TIER_ADVANCED: Tier
TIER_NONE: Tier
ASSIGNMENT_STATUS_UNSPECIFIED: AssignmentStatus
ASSIGNMENT_STATUS_PENDING_DECLARATION: AssignmentStatus
ASSIGNMENT_STATUS_ACCEPTED: AssignmentStatus
ASSIGNMENT_STATUS_RECUSED: AssignmentStatus
ASSIGNMENT_STATUS_SCORED: AssignmentStatus
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_XLSX: ExportFormat
EXPORT_FORMAT_PDF: ExportFormat
OBJECTION_STATUS_UNSPECIFIED: ObjectionStatus
OBJECTION_STATUS_UNDER_INVESTIGATION: ObjectionStatus
OBJECTION_STATUS_UPHELD: ObjectionStatus
OBJECTION_STATUS_DISMISSED: ObjectionStatus
ON_SITE_REVIEW_KIND_UNSPECIFIED: OnSiteReviewKind
ON_SITE_REVIEW_KIND_DEFENCE: OnSiteReviewKind
ON_SITE_REVIEW_KIND_SITE_VISIT: OnSiteReviewKind

class Material(_message.Message):
    __slots__ = ("material_id", "kind", "filename", "sha256", "size_bytes")
    MATERIAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    material_id: str
    kind: str
    filename: str
    sha256: str
    size_bytes: int
    def __init__(self, material_id: _Optional[str] = ..., kind: _Optional[str] = ..., filename: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("application_id", "organization_id", "operator_organization_id", "enterprise_name", "city_code", "submitted_at", "materials", "title")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    submitted_at: _timestamp_pb2.Timestamp
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    title: str
    def __init__(self, application_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., operator_organization_id: _Optional[str] = ..., enterprise_name: _Optional[str] = ..., city_code: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ..., title: _Optional[str] = ...) -> None: ...

class OpenReviewRequest(_message.Message):
    __slots__ = ("cycle_id", "policy_json", "candidates")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_JSON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    policy_json: str
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    def __init__(self, cycle_id: _Optional[str] = ..., policy_json: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ...) -> None: ...

class OpenReviewResponse(_message.Message):
    __slots__ = ("candidates",)
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    candidates: int
    def __init__(self, candidates: _Optional[int] = ...) -> None: ...

class ComplianceReview(_message.Message):
    __slots__ = ("application_id", "compliant", "reasons", "decided_by", "decided_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLIANT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    compliant: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_by: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., compliant: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordComplianceDecisionsRequest(_message.Message):
    __slots__ = ("cycle_id", "decisions")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    decisions: _containers.RepeatedCompositeFieldContainer[ComplianceReview]
    def __init__(self, cycle_id: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[ComplianceReview, _Mapping]]] = ...) -> None: ...

class RecordComplianceDecisionsResponse(_message.Message):
    __slots__ = ("decided", "remaining")
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    decided: int
    remaining: int
    def __init__(self, decided: _Optional[int] = ..., remaining: _Optional[int] = ...) -> None: ...

class ListComplianceReviewsRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ListComplianceReviewsResponse(_message.Message):
    __slots__ = ("reviews",)
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[ComplianceReview]
    def __init__(self, reviews: _Optional[_Iterable[_Union[ComplianceReview, _Mapping]]] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("assignment_id", "cycle_id", "application_id", "expert_user_id", "status", "enterprise_name")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_NAME_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    cycle_id: str
    application_id: str
    expert_user_id: str
    status: AssignmentStatus
    enterprise_name: str
    def __init__(self, assignment_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., expert_user_id: _Optional[str] = ..., status: _Optional[_Union[AssignmentStatus, str]] = ..., enterprise_name: _Optional[str] = ...) -> None: ...

class ExclusionRecord(_message.Message):
    __slots__ = ("application_id", "expert_user_id", "reason")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    expert_user_id: str
    reason: str
    def __init__(self, application_id: _Optional[str] = ..., expert_user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DrawPanelsRequest(_message.Message):
    __slots__ = ("cycle_id", "seed")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    seed: int
    def __init__(self, cycle_id: _Optional[str] = ..., seed: _Optional[int] = ...) -> None: ...

class DrawPanelsResponse(_message.Message):
    __slots__ = ("assignments", "exclusions", "seed")
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    exclusions: _containers.RepeatedCompositeFieldContainer[ExclusionRecord]
    seed: int
    def __init__(self, assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., exclusions: _Optional[_Iterable[_Union[ExclusionRecord, _Mapping]]] = ..., seed: _Optional[int] = ...) -> None: ...

class GetPanelDrawRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class GetPanelDrawResponse(_message.Message):
    __slots__ = ("seed", "assignments", "exclusions")
    SEED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    seed: int
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    exclusions: _containers.RepeatedCompositeFieldContainer[ExclusionRecord]
    def __init__(self, seed: _Optional[int] = ..., assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., exclusions: _Optional[_Iterable[_Union[ExclusionRecord, _Mapping]]] = ...) -> None: ...

class ListAssignmentsRequest(_message.Message):
    __slots__ = ("cycle_id", "expert_user_id")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    expert_user_id: str
    def __init__(self, cycle_id: _Optional[str] = ..., expert_user_id: _Optional[str] = ...) -> None: ...

class ListAssignmentsResponse(_message.Message):
    __slots__ = ("assignments",)
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    def __init__(self, assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ...) -> None: ...

class DeclareConflictRequest(_message.Message):
    __slots__ = ("assignment_id", "has_conflict", "statement")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_CONFLICT_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    has_conflict: bool
    statement: str
    def __init__(self, assignment_id: _Optional[str] = ..., has_conflict: _Optional[bool] = ..., statement: _Optional[str] = ...) -> None: ...

class DeclareConflictResponse(_message.Message):
    __slots__ = ("assignment", "replacement")
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    assignment: Assignment
    replacement: Assignment
    def __init__(self, assignment: _Optional[_Union[Assignment, _Mapping]] = ..., replacement: _Optional[_Union[Assignment, _Mapping]] = ...) -> None: ...

class GetAssignmentMaterialsRequest(_message.Message):
    __slots__ = ("assignment_id",)
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    def __init__(self, assignment_id: _Optional[str] = ...) -> None: ...

class GetAssignmentMaterialsResponse(_message.Message):
    __slots__ = ("application_id", "enterprise_name", "title", "materials")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    enterprise_name: str
    title: str
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    def __init__(self, application_id: _Optional[str] = ..., enterprise_name: _Optional[str] = ..., title: _Optional[str] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ...) -> None: ...

class IndicatorScore(_message.Message):
    __slots__ = ("indicator_id", "points", "justification")
    INDICATOR_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    indicator_id: str
    points: str
    justification: str
    def __init__(self, indicator_id: _Optional[str] = ..., points: _Optional[str] = ..., justification: _Optional[str] = ...) -> None: ...

class ScoreSheet(_message.Message):
    __slots__ = ("sheet_id", "assignment_id", "application_id", "expert_user_id", "scores", "total", "version", "correction_reason", "submitted_at")
    SHEET_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    sheet_id: str
    assignment_id: str
    application_id: str
    expert_user_id: str
    scores: _containers.RepeatedCompositeFieldContainer[IndicatorScore]
    total: str
    version: int
    correction_reason: str
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, sheet_id: _Optional[str] = ..., assignment_id: _Optional[str] = ..., application_id: _Optional[str] = ..., expert_user_id: _Optional[str] = ..., scores: _Optional[_Iterable[_Union[IndicatorScore, _Mapping]]] = ..., total: _Optional[str] = ..., version: _Optional[int] = ..., correction_reason: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitScoreSheetRequest(_message.Message):
    __slots__ = ("assignment_id", "scores", "correction_reason")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    scores: _containers.RepeatedCompositeFieldContainer[IndicatorScore]
    correction_reason: str
    def __init__(self, assignment_id: _Optional[str] = ..., scores: _Optional[_Iterable[_Union[IndicatorScore, _Mapping]]] = ..., correction_reason: _Optional[str] = ...) -> None: ...

class SubmitScoreSheetResponse(_message.Message):
    __slots__ = ("sheet",)
    SHEET_FIELD_NUMBER: _ClassVar[int]
    sheet: ScoreSheet
    def __init__(self, sheet: _Optional[_Union[ScoreSheet, _Mapping]] = ...) -> None: ...

class DimensionScore(_message.Message):
    __slots__ = ("dimension", "score")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    dimension: str
    score: str
    def __init__(self, dimension: _Optional[str] = ..., score: _Optional[str] = ...) -> None: ...

class ProposalLine(_message.Message):
    __slots__ = ("application_id", "enterprise_name", "city_code", "rank", "final_score", "dimension_scores", "tier", "amount_fen", "reserve", "reason", "budget_left_fen", "flagged_experts", "tie_break")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    FINAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_SCORES_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    RESERVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_LEFT_FEN_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_EXPERTS_FIELD_NUMBER: _ClassVar[int]
    TIE_BREAK_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    enterprise_name: str
    city_code: str
    rank: int
    final_score: str
    dimension_scores: _containers.RepeatedCompositeFieldContainer[DimensionScore]
    tier: Tier
    amount_fen: int
    reserve: bool
    reason: str
    budget_left_fen: int
    flagged_experts: _containers.RepeatedScalarFieldContainer[str]
    tie_break: str
    def __init__(self, application_id: _Optional[str] = ..., enterprise_name: _Optional[str] = ..., city_code: _Optional[str] = ..., rank: _Optional[int] = ..., final_score: _Optional[str] = ..., dimension_scores: _Optional[_Iterable[_Union[DimensionScore, _Mapping]]] = ..., tier: _Optional[_Union[Tier, str]] = ..., amount_fen: _Optional[int] = ..., reserve: _Optional[bool] = ..., reason: _Optional[str] = ..., budget_left_fen: _Optional[int] = ..., flagged_experts: _Optional[_Iterable[str]] = ..., tie_break: _Optional[str] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("cycle_id", "version", "lines", "budget_fen", "allocated_fen", "reason", "created_at")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FEN_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    version: int
    lines: _containers.RepeatedCompositeFieldContainer[ProposalLine]
    budget_fen: int
    allocated_fen: int
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, cycle_id: _Optional[str] = ..., version: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[ProposalLine, _Mapping]]] = ..., budget_fen: _Optional[int] = ..., allocated_fen: _Optional[int] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComputeProposalRequest(_message.Message):
    __slots__ = ("cycle_id", "budget_fen")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FEN_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    budget_fen: int
    def __init__(self, cycle_id: _Optional[str] = ..., budget_fen: _Optional[int] = ...) -> None: ...

class ComputeProposalResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class GetProposalRequest(_message.Message):
    __slots__ = ("cycle_id", "version")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    version: int
    def __init__(self, cycle_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetProposalResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class ExportProposalRequest(_message.Message):
    __slots__ = ("cycle_id", "version", "format")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    version: int
    format: ExportFormat
    def __init__(self, cycle_id: _Optional[str] = ..., version: _Optional[int] = ..., format: _Optional[_Union[ExportFormat, str]] = ...) -> None: ...

class ExportProposalResponse(_message.Message):
    __slots__ = ("content", "filename", "media_type")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    media_type: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ..., media_type: _Optional[str] = ...) -> None: ...

class OpenPublicityRequest(_message.Message):
    __slots__ = ("cycle_id", "proposal_version", "ends_at")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    proposal_version: int
    ends_at: _timestamp_pb2.Timestamp
    def __init__(self, cycle_id: _Optional[str] = ..., proposal_version: _Optional[int] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OpenPublicityResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClosePublicityRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ClosePublicityResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class Objection(_message.Message):
    __slots__ = ("objection_id", "cycle_id", "application_id", "objector_name", "objector_contact", "content", "status", "findings", "filed_at")
    OBJECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    OBJECTOR_CONTACT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    FILED_AT_FIELD_NUMBER: _ClassVar[int]
    objection_id: str
    cycle_id: str
    application_id: str
    objector_name: str
    objector_contact: str
    content: str
    status: ObjectionStatus
    findings: str
    filed_at: _timestamp_pb2.Timestamp
    def __init__(self, objection_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., objector_name: _Optional[str] = ..., objector_contact: _Optional[str] = ..., content: _Optional[str] = ..., status: _Optional[_Union[ObjectionStatus, str]] = ..., findings: _Optional[str] = ..., filed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FileObjectionRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id", "objector_name", "objector_contact", "content")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    OBJECTOR_CONTACT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    objector_name: str
    objector_contact: str
    content: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., objector_name: _Optional[str] = ..., objector_contact: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class FileObjectionResponse(_message.Message):
    __slots__ = ("objection",)
    OBJECTION_FIELD_NUMBER: _ClassVar[int]
    objection: Objection
    def __init__(self, objection: _Optional[_Union[Objection, _Mapping]] = ...) -> None: ...

class RecordInvestigationRequest(_message.Message):
    __slots__ = ("objection_id", "upheld", "findings")
    OBJECTION_ID_FIELD_NUMBER: _ClassVar[int]
    UPHELD_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    objection_id: str
    upheld: bool
    findings: str
    def __init__(self, objection_id: _Optional[str] = ..., upheld: _Optional[bool] = ..., findings: _Optional[str] = ...) -> None: ...

class RecordInvestigationResponse(_message.Message):
    __slots__ = ("objection", "proposal")
    OBJECTION_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    objection: Objection
    proposal: Proposal
    def __init__(self, objection: _Optional[_Union[Objection, _Mapping]] = ..., proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class ListObjectionsRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ListObjectionsResponse(_message.Message):
    __slots__ = ("objections",)
    OBJECTIONS_FIELD_NUMBER: _ClassVar[int]
    objections: _containers.RepeatedCompositeFieldContainer[Objection]
    def __init__(self, objections: _Optional[_Iterable[_Union[Objection, _Mapping]]] = ...) -> None: ...

class OnSiteReview(_message.Message):
    __slots__ = ("on_site_review_id", "cycle_id", "application_id", "kind", "held_on", "participants", "findings", "recorded_by", "recorded_at")
    ON_SITE_REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HELD_ON_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    on_site_review_id: str
    cycle_id: str
    application_id: str
    kind: OnSiteReviewKind
    held_on: str
    participants: _containers.RepeatedScalarFieldContainer[str]
    findings: str
    recorded_by: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, on_site_review_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., kind: _Optional[_Union[OnSiteReviewKind, str]] = ..., held_on: _Optional[str] = ..., participants: _Optional[_Iterable[str]] = ..., findings: _Optional[str] = ..., recorded_by: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordOnSiteReviewRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id", "kind", "held_on", "participants", "findings")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HELD_ON_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    kind: OnSiteReviewKind
    held_on: str
    participants: _containers.RepeatedScalarFieldContainer[str]
    findings: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., kind: _Optional[_Union[OnSiteReviewKind, str]] = ..., held_on: _Optional[str] = ..., participants: _Optional[_Iterable[str]] = ..., findings: _Optional[str] = ...) -> None: ...

class RecordOnSiteReviewResponse(_message.Message):
    __slots__ = ("on_site_review",)
    ON_SITE_REVIEW_FIELD_NUMBER: _ClassVar[int]
    on_site_review: OnSiteReview
    def __init__(self, on_site_review: _Optional[_Union[OnSiteReview, _Mapping]] = ...) -> None: ...

class ListOnSiteReviewsRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListOnSiteReviewsResponse(_message.Message):
    __slots__ = ("on_site_reviews",)
    ON_SITE_REVIEWS_FIELD_NUMBER: _ClassVar[int]
    on_site_reviews: _containers.RepeatedCompositeFieldContainer[OnSiteReview]
    def __init__(self, on_site_reviews: _Optional[_Iterable[_Union[OnSiteReview, _Mapping]]] = ...) -> None: ...
