import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CyclePhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CYCLE_PHASE_UNSPECIFIED: _ClassVar[CyclePhase]
    CYCLE_PHASE_PUBLISHED: _ClassVar[CyclePhase]
    CYCLE_PHASE_APPLYING: _ClassVar[CyclePhase]
    CYCLE_PHASE_CITY_REVIEW: _ClassVar[CyclePhase]
    CYCLE_PHASE_COMPLIANCE_REVIEW: _ClassVar[CyclePhase]
    CYCLE_PHASE_EXPERT_REVIEW: _ClassVar[CyclePhase]
    CYCLE_PHASE_PROPOSAL: _ClassVar[CyclePhase]
    CYCLE_PHASE_FINANCE_CONCURRENCE: _ClassVar[CyclePhase]
    CYCLE_PHASE_PARTY_GROUP_APPROVAL: _ClassVar[CyclePhase]
    CYCLE_PHASE_PUBLICITY: _ClassVar[CyclePhase]
    CYCLE_PHASE_ANNOUNCED: _ClassVar[CyclePhase]
    CYCLE_PHASE_DISBURSING: _ClassVar[CyclePhase]
    CYCLE_PHASE_SUPERVISING: _ClassVar[CyclePhase]
    CYCLE_PHASE_CLOSED: _ClassVar[CyclePhase]

class ApplicationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPLICATION_STATUS_UNSPECIFIED: _ClassVar[ApplicationStatus]
    APPLICATION_STATUS_DRAFT: _ClassVar[ApplicationStatus]
    APPLICATION_STATUS_SUBMITTED: _ClassVar[ApplicationStatus]
    APPLICATION_STATUS_INELIGIBLE: _ClassVar[ApplicationStatus]
    APPLICATION_STATUS_RECOMMENDED: _ClassVar[ApplicationStatus]
    APPLICATION_STATUS_NOT_RECOMMENDED: _ClassVar[ApplicationStatus]
CYCLE_PHASE_UNSPECIFIED: CyclePhase
CYCLE_PHASE_PUBLISHED: CyclePhase
CYCLE_PHASE_APPLYING: CyclePhase
CYCLE_PHASE_CITY_REVIEW: CyclePhase
CYCLE_PHASE_COMPLIANCE_REVIEW: CyclePhase
CYCLE_PHASE_EXPERT_REVIEW: CyclePhase
CYCLE_PHASE_PROPOSAL: CyclePhase
CYCLE_PHASE_FINANCE_CONCURRENCE: CyclePhase
CYCLE_PHASE_PARTY_GROUP_APPROVAL: CyclePhase
CYCLE_PHASE_PUBLICITY: CyclePhase
CYCLE_PHASE_ANNOUNCED: CyclePhase
CYCLE_PHASE_DISBURSING: CyclePhase
CYCLE_PHASE_SUPERVISING: CyclePhase
CYCLE_PHASE_CLOSED: CyclePhase
APPLICATION_STATUS_UNSPECIFIED: ApplicationStatus
APPLICATION_STATUS_DRAFT: ApplicationStatus
APPLICATION_STATUS_SUBMITTED: ApplicationStatus
APPLICATION_STATUS_INELIGIBLE: ApplicationStatus
APPLICATION_STATUS_RECOMMENDED: ApplicationStatus
APPLICATION_STATUS_NOT_RECOMMENDED: ApplicationStatus

class CycleCounts(_message.Message):
    __slots__ = ("submitted", "ineligible", "recommended", "compliant", "scored", "awarded", "reserve", "disbursed", "evaluated", "cities_recommended")
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    INELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    COMPLIANT_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    AWARDED_FIELD_NUMBER: _ClassVar[int]
    RESERVE_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    CITIES_RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    submitted: int
    ineligible: int
    recommended: int
    compliant: int
    scored: int
    awarded: int
    reserve: int
    disbursed: int
    evaluated: int
    cities_recommended: int
    def __init__(self, submitted: _Optional[int] = ..., ineligible: _Optional[int] = ..., recommended: _Optional[int] = ..., compliant: _Optional[int] = ..., scored: _Optional[int] = ..., awarded: _Optional[int] = ..., reserve: _Optional[int] = ..., disbursed: _Optional[int] = ..., evaluated: _Optional[int] = ..., cities_recommended: _Optional[int] = ...) -> None: ...

class Cycle(_message.Message):
    __slots__ = ("cycle_id", "title", "policy_id", "scope", "city_code", "phase", "legal_basis", "applications_open_at", "applications_close_at", "city_review_due_at", "budget_fen", "counts", "workflow_id", "proposal_version", "created_at", "note", "history", "publicity_ends_at")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_OPEN_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_CLOSE_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_REVIEW_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FEN_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    PUBLICITY_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    title: str
    policy_id: str
    scope: str
    city_code: str
    phase: CyclePhase
    legal_basis: _containers.RepeatedScalarFieldContainer[str]
    applications_open_at: _timestamp_pb2.Timestamp
    applications_close_at: _timestamp_pb2.Timestamp
    city_review_due_at: _timestamp_pb2.Timestamp
    budget_fen: int
    counts: CycleCounts
    workflow_id: str
    proposal_version: int
    created_at: _timestamp_pb2.Timestamp
    note: str
    history: _containers.RepeatedCompositeFieldContainer[PhaseRecord]
    publicity_ends_at: _timestamp_pb2.Timestamp
    def __init__(self, cycle_id: _Optional[str] = ..., title: _Optional[str] = ..., policy_id: _Optional[str] = ..., scope: _Optional[str] = ..., city_code: _Optional[str] = ..., phase: _Optional[_Union[CyclePhase, str]] = ..., legal_basis: _Optional[_Iterable[str]] = ..., applications_open_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., applications_close_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_review_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., budget_fen: _Optional[int] = ..., counts: _Optional[_Union[CycleCounts, _Mapping]] = ..., workflow_id: _Optional[str] = ..., proposal_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., history: _Optional[_Iterable[_Union[PhaseRecord, _Mapping]]] = ..., publicity_ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PhaseRecord(_message.Message):
    __slots__ = ("phase", "entered_at", "note")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ENTERED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    phase: CyclePhase
    entered_at: _timestamp_pb2.Timestamp
    note: str
    def __init__(self, phase: _Optional[_Union[CyclePhase, str]] = ..., entered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class CreateCycleRequest(_message.Message):
    __slots__ = ("cycle_id", "title", "policy_name", "policy_yaml")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_YAML_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    title: str
    policy_name: str
    policy_yaml: str
    def __init__(self, cycle_id: _Optional[str] = ..., title: _Optional[str] = ..., policy_name: _Optional[str] = ..., policy_yaml: _Optional[str] = ...) -> None: ...

class CreateCycleResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class GetCycleRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class GetCycleResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class ListCyclesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCyclesResponse(_message.Message):
    __slots__ = ("cycles",)
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    cycles: _containers.RepeatedCompositeFieldContainer[Cycle]
    def __init__(self, cycles: _Optional[_Iterable[_Union[Cycle, _Mapping]]] = ...) -> None: ...

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

class AuthenticityDeclaration(_message.Message):
    __slots__ = ("signer_name", "signer_title", "accepted", "signed_at")
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_TITLE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    signer_name: str
    signer_title: str
    accepted: bool
    signed_at: _timestamp_pb2.Timestamp
    def __init__(self, signer_name: _Optional[str] = ..., signer_title: _Optional[str] = ..., accepted: _Optional[bool] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EligibilityFailure(_message.Message):
    __slots__ = ("rule", "article", "message", "message_zh")
    RULE_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ZH_FIELD_NUMBER: _ClassVar[int]
    rule: str
    article: str
    message: str
    message_zh: str
    def __init__(self, rule: _Optional[str] = ..., article: _Optional[str] = ..., message: _Optional[str] = ..., message_zh: _Optional[str] = ...) -> None: ...

class Application(_message.Message):
    __slots__ = ("application_id", "cycle_id", "organization_id", "operator_organization_id", "enterprise_name", "city_code", "title", "service_lines", "status", "declaration", "submitted_at", "eligibility_failures", "recommendation_document_no", "materials", "created_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LINES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FAILURES_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_DOCUMENT_NO_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    cycle_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    title: str
    service_lines: _containers.RepeatedScalarFieldContainer[str]
    status: ApplicationStatus
    declaration: AuthenticityDeclaration
    submitted_at: _timestamp_pb2.Timestamp
    eligibility_failures: _containers.RepeatedCompositeFieldContainer[EligibilityFailure]
    recommendation_document_no: str
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., operator_organization_id: _Optional[str] = ..., enterprise_name: _Optional[str] = ..., city_code: _Optional[str] = ..., title: _Optional[str] = ..., service_lines: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[ApplicationStatus, str]] = ..., declaration: _Optional[_Union[AuthenticityDeclaration, _Mapping]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., eligibility_failures: _Optional[_Iterable[_Union[EligibilityFailure, _Mapping]]] = ..., recommendation_document_no: _Optional[str] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateApplicationRequest(_message.Message):
    __slots__ = ("cycle_id", "organization_id", "operator_organization_id", "title", "service_lines", "materials")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LINES_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    organization_id: str
    operator_organization_id: str
    title: str
    service_lines: _containers.RepeatedScalarFieldContainer[str]
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    def __init__(self, cycle_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., operator_organization_id: _Optional[str] = ..., title: _Optional[str] = ..., service_lines: _Optional[_Iterable[str]] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ...) -> None: ...

class CreateApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class GetApplicationRequest(_message.Message):
    __slots__ = ("application_id",)
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    def __init__(self, application_id: _Optional[str] = ...) -> None: ...

class GetApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ("cycle_id", "city_code", "status")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    city_code: str
    status: ApplicationStatus
    def __init__(self, cycle_id: _Optional[str] = ..., city_code: _Optional[str] = ..., status: _Optional[_Union[ApplicationStatus, str]] = ...) -> None: ...

class ListApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class SubmitApplicationRequest(_message.Message):
    __slots__ = ("application_id", "declaration")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    declaration: AuthenticityDeclaration
    def __init__(self, application_id: _Optional[str] = ..., declaration: _Optional[_Union[AuthenticityDeclaration, _Mapping]] = ...) -> None: ...

class SubmitApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class RecommendationItem(_message.Message):
    __slots__ = ("application_id", "recommended", "opinion")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    OPINION_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    recommended: bool
    opinion: str
    def __init__(self, application_id: _Optional[str] = ..., recommended: _Optional[bool] = ..., opinion: _Optional[str] = ...) -> None: ...

class Signoff(_message.Message):
    __slots__ = ("role", "user_id", "display_name", "signed_at")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    role: str
    user_id: str
    display_name: str
    signed_at: _timestamp_pb2.Timestamp
    def __init__(self, role: _Optional[str] = ..., user_id: _Optional[str] = ..., display_name: _Optional[str] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("cycle_id", "city_code", "document_no", "items", "signoffs", "complete")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NO_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SIGNOFFS_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    city_code: str
    document_no: str
    items: _containers.RepeatedCompositeFieldContainer[RecommendationItem]
    signoffs: _containers.RepeatedCompositeFieldContainer[Signoff]
    complete: bool
    def __init__(self, cycle_id: _Optional[str] = ..., city_code: _Optional[str] = ..., document_no: _Optional[str] = ..., items: _Optional[_Iterable[_Union[RecommendationItem, _Mapping]]] = ..., signoffs: _Optional[_Iterable[_Union[Signoff, _Mapping]]] = ..., complete: _Optional[bool] = ...) -> None: ...

class SignCityRecommendationRequest(_message.Message):
    __slots__ = ("cycle_id", "city_code", "document_no", "items")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NO_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    city_code: str
    document_no: str
    items: _containers.RepeatedCompositeFieldContainer[RecommendationItem]
    def __init__(self, cycle_id: _Optional[str] = ..., city_code: _Optional[str] = ..., document_no: _Optional[str] = ..., items: _Optional[_Iterable[_Union[RecommendationItem, _Mapping]]] = ...) -> None: ...

class SignCityRecommendationResponse(_message.Message):
    __slots__ = ("recommendation",)
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    recommendation: Recommendation
    def __init__(self, recommendation: _Optional[_Union[Recommendation, _Mapping]] = ...) -> None: ...

class ComplianceDecision(_message.Message):
    __slots__ = ("application_id", "compliant", "reasons")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLIANT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    compliant: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, application_id: _Optional[str] = ..., compliant: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class DecideComplianceRequest(_message.Message):
    __slots__ = ("cycle_id", "decisions")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    decisions: _containers.RepeatedCompositeFieldContainer[ComplianceDecision]
    def __init__(self, cycle_id: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[ComplianceDecision, _Mapping]]] = ...) -> None: ...

class DecideComplianceResponse(_message.Message):
    __slots__ = ("decided", "remaining")
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    decided: int
    remaining: int
    def __init__(self, decided: _Optional[int] = ..., remaining: _Optional[int] = ...) -> None: ...

class ConcludeExpertReviewRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ConcludeExpertReviewResponse(_message.Message):
    __slots__ = ("proposal_version",)
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    proposal_version: int
    def __init__(self, proposal_version: _Optional[int] = ...) -> None: ...

class DecideFinanceConcurrenceRequest(_message.Message):
    __slots__ = ("cycle_id", "proposal_version", "agree", "opinion")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    AGREE_FIELD_NUMBER: _ClassVar[int]
    OPINION_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    proposal_version: int
    agree: bool
    opinion: str
    def __init__(self, cycle_id: _Optional[str] = ..., proposal_version: _Optional[int] = ..., agree: _Optional[bool] = ..., opinion: _Optional[str] = ...) -> None: ...

class DecideFinanceConcurrenceResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class ResubmitProposalRequest(_message.Message):
    __slots__ = ("cycle_id", "note")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    note: str
    def __init__(self, cycle_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ResubmitProposalResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class DecidePartyGroupApprovalRequest(_message.Message):
    __slots__ = ("cycle_id", "proposal_version", "approve", "meeting_reference", "opinion")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    MEETING_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OPINION_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    proposal_version: int
    approve: bool
    meeting_reference: str
    opinion: str
    def __init__(self, cycle_id: _Optional[str] = ..., proposal_version: _Optional[int] = ..., approve: _Optional[bool] = ..., meeting_reference: _Optional[str] = ..., opinion: _Optional[str] = ...) -> None: ...

class DecidePartyGroupApprovalResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class DecidePublicityOutcomeRequest(_message.Message):
    __slots__ = ("cycle_id", "announcement_document_no")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_DOCUMENT_NO_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    announcement_document_no: str
    def __init__(self, cycle_id: _Optional[str] = ..., announcement_document_no: _Optional[str] = ...) -> None: ...

class DecidePublicityOutcomeResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class ConcludeSupervisionRequest(_message.Message):
    __slots__ = ("cycle_id", "summary")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    summary: str
    def __init__(self, cycle_id: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class ConcludeSupervisionResponse(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: Cycle
    def __init__(self, cycle: _Optional[_Union[Cycle, _Mapping]] = ...) -> None: ...

class RecordCyclePhaseRequest(_message.Message):
    __slots__ = ("cycle_id", "phase", "note", "proposal_version")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    phase: CyclePhase
    note: str
    proposal_version: int
    def __init__(self, cycle_id: _Optional[str] = ..., phase: _Optional[_Union[CyclePhase, str]] = ..., note: _Optional[str] = ..., proposal_version: _Optional[int] = ...) -> None: ...

class RecordCyclePhaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloseApplicationWindowRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class CloseApplicationWindowResponse(_message.Message):
    __slots__ = ("submitted",)
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    submitted: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, submitted: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class RecordRecommendationRequest(_message.Message):
    __slots__ = ("recommendation",)
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    recommendation: Recommendation
    def __init__(self, recommendation: _Optional[_Union[Recommendation, _Mapping]] = ...) -> None: ...

class RecordRecommendationResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...
