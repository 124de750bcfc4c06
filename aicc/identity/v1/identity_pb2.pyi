import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrganizationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORGANIZATION_KIND_UNSPECIFIED: _ClassVar[OrganizationKind]
    ORGANIZATION_KIND_ENTERPRISE: _ClassVar[OrganizationKind]
    ORGANIZATION_KIND_OPERATOR_ORG: _ClassVar[OrganizationKind]
    ORGANIZATION_KIND_CITY_BUREAU: _ClassVar[OrganizationKind]
    ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT: _ClassVar[OrganizationKind]
    ORGANIZATION_KIND_EXPERT_EMPLOYER: _ClassVar[OrganizationKind]

class RegistryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRY_KIND_UNSPECIFIED: _ClassVar[RegistryKind]
    REGISTRY_KIND_CREDIT: _ClassVar[RegistryKind]
    REGISTRY_KIND_GREEN_THRESHOLD: _ClassVar[RegistryKind]
ORGANIZATION_KIND_UNSPECIFIED: OrganizationKind
ORGANIZATION_KIND_ENTERPRISE: OrganizationKind
ORGANIZATION_KIND_OPERATOR_ORG: OrganizationKind
ORGANIZATION_KIND_CITY_BUREAU: OrganizationKind
ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT: OrganizationKind
ORGANIZATION_KIND_EXPERT_EMPLOYER: OrganizationKind
REGISTRY_KIND_UNSPECIFIED: RegistryKind
REGISTRY_KIND_CREDIT: RegistryKind
REGISTRY_KIND_GREEN_THRESHOLD: RegistryKind

class Jurisdiction(_message.Message):
    __slots__ = ("code", "name", "name_en", "level")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    name_en: str
    level: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., name_en: _Optional[str] = ..., level: _Optional[str] = ...) -> None: ...

class Organization(_message.Message):
    __slots__ = ("organization_id", "uscc", "name", "kind", "city_code", "legal_person", "parent_organization_id", "created_at")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_PERSON_FIELD_NUMBER: _ClassVar[int]
    PARENT_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    uscc: str
    name: str
    kind: OrganizationKind
    city_code: str
    legal_person: bool
    parent_organization_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, organization_id: _Optional[str] = ..., uscc: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[OrganizationKind, str]] = ..., city_code: _Optional[str] = ..., legal_person: _Optional[bool] = ..., parent_organization_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("user_id", "username", "display_name", "roles", "organization_id", "city_code", "phone", "id_number")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    username: str
    display_name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    organization_id: str
    city_code: str
    phone: str
    id_number: str
    def __init__(self, user_id: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., organization_id: _Optional[str] = ..., city_code: _Optional[str] = ..., phone: _Optional[str] = ..., id_number: _Optional[str] = ...) -> None: ...

class ListJurisdictionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListJurisdictionsResponse(_message.Message):
    __slots__ = ("jurisdictions",)
    JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    jurisdictions: _containers.RepeatedCompositeFieldContainer[Jurisdiction]
    def __init__(self, jurisdictions: _Optional[_Iterable[_Union[Jurisdiction, _Mapping]]] = ...) -> None: ...

class CreateOrganizationRequest(_message.Message):
    __slots__ = ("uscc", "name", "kind", "city_code", "legal_person", "parent_organization_id")
    USCC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_PERSON_FIELD_NUMBER: _ClassVar[int]
    PARENT_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    name: str
    kind: OrganizationKind
    city_code: str
    legal_person: bool
    parent_organization_id: str
    def __init__(self, uscc: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[OrganizationKind, str]] = ..., city_code: _Optional[str] = ..., legal_person: _Optional[bool] = ..., parent_organization_id: _Optional[str] = ...) -> None: ...

class CreateOrganizationResponse(_message.Message):
    __slots__ = ("organization",)
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    organization: Organization
    def __init__(self, organization: _Optional[_Union[Organization, _Mapping]] = ...) -> None: ...

class GetOrganizationRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class GetOrganizationResponse(_message.Message):
    __slots__ = ("organization",)
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    organization: Organization
    def __init__(self, organization: _Optional[_Union[Organization, _Mapping]] = ...) -> None: ...

class ListOrganizationsRequest(_message.Message):
    __slots__ = ("kind", "city_code", "uscc")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    kind: OrganizationKind
    city_code: str
    uscc: str
    def __init__(self, kind: _Optional[_Union[OrganizationKind, str]] = ..., city_code: _Optional[str] = ..., uscc: _Optional[str] = ...) -> None: ...

class ListOrganizationsResponse(_message.Message):
    __slots__ = ("organizations",)
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[Organization]
    def __init__(self, organizations: _Optional[_Iterable[_Union[Organization, _Mapping]]] = ...) -> None: ...

class UpdateOrganizationCityRequest(_message.Message):
    __slots__ = ("organization_id", "city_code", "reason")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    city_code: str
    reason: str
    def __init__(self, organization_id: _Optional[str] = ..., city_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UpdateOrganizationCityResponse(_message.Message):
    __slots__ = ("organization",)
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    organization: Organization
    def __init__(self, organization: _Optional[_Union[Organization, _Mapping]] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("username", "display_name", "password", "roles", "organization_id", "city_code", "phone", "id_number")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    username: str
    display_name: str
    password: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    organization_id: str
    city_code: str
    phone: str
    id_number: str
    def __init__(self, username: _Optional[str] = ..., display_name: _Optional[str] = ..., password: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., organization_id: _Optional[str] = ..., city_code: _Optional[str] = ..., phone: _Optional[str] = ..., id_number: _Optional[str] = ...) -> None: ...

class ResetSecondFactorRequest(_message.Message):
    __slots__ = ("user_id", "reason")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    reason: str
    def __init__(self, user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResetSecondFactorResponse(_message.Message):
    __slots__ = ("totp_secret", "totp_provisioning_uri")
    TOTP_SECRET_FIELD_NUMBER: _ClassVar[int]
    TOTP_PROVISIONING_URI_FIELD_NUMBER: _ClassVar[int]
    totp_secret: str
    totp_provisioning_uri: str
    def __init__(self, totp_secret: _Optional[str] = ..., totp_provisioning_uri: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user", "totp_secret", "totp_provisioning_uri")
    USER_FIELD_NUMBER: _ClassVar[int]
    TOTP_SECRET_FIELD_NUMBER: _ClassVar[int]
    TOTP_PROVISIONING_URI_FIELD_NUMBER: _ClassVar[int]
    user: User
    totp_secret: str
    totp_provisioning_uri: str
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., totp_secret: _Optional[str] = ..., totp_provisioning_uri: _Optional[str] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("username", "password", "totp_code")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TOTP_CODE_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    totp_code: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., totp_code: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("access_token", "expires_at", "user")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    expires_at: _timestamp_pb2.Timestamp
    user: User
    def __init__(self, access_token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class GetPublicKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PublicKey(_message.Message):
    __slots__ = ("kid", "algorithm", "public_key_pem")
    KID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    kid: str
    algorithm: str
    public_key_pem: str
    def __init__(self, kid: _Optional[str] = ..., algorithm: _Optional[str] = ..., public_key_pem: _Optional[str] = ...) -> None: ...

class GetPublicKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[PublicKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[PublicKey, _Mapping]]] = ...) -> None: ...

class EmploymentRecord(_message.Message):
    __slots__ = ("organization_id", "start_date", "end_date")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    start_date: str
    end_date: str
    def __init__(self, organization_id: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class Shareholding(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class ConsultingEngagement(_message.Message):
    __slots__ = ("organization_id", "start_date", "end_date")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    start_date: str
    end_date: str
    def __init__(self, organization_id: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class Expert(_message.Message):
    __slots__ = ("user_id", "display_name", "fields", "employer_organization_id", "employment", "shareholdings", "consulting", "active")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SHAREHOLDINGS_FIELD_NUMBER: _ClassVar[int]
    CONSULTING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    display_name: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    employer_organization_id: str
    employment: _containers.RepeatedCompositeFieldContainer[EmploymentRecord]
    shareholdings: _containers.RepeatedCompositeFieldContainer[Shareholding]
    consulting: _containers.RepeatedCompositeFieldContainer[ConsultingEngagement]
    active: bool
    def __init__(self, user_id: _Optional[str] = ..., display_name: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., employer_organization_id: _Optional[str] = ..., employment: _Optional[_Iterable[_Union[EmploymentRecord, _Mapping]]] = ..., shareholdings: _Optional[_Iterable[_Union[Shareholding, _Mapping]]] = ..., consulting: _Optional[_Iterable[_Union[ConsultingEngagement, _Mapping]]] = ..., active: _Optional[bool] = ...) -> None: ...

class RegisterExpertRequest(_message.Message):
    __slots__ = ("user_id", "fields", "employer_organization_id", "employment", "shareholdings", "consulting")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SHAREHOLDINGS_FIELD_NUMBER: _ClassVar[int]
    CONSULTING_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    employer_organization_id: str
    employment: _containers.RepeatedCompositeFieldContainer[EmploymentRecord]
    shareholdings: _containers.RepeatedCompositeFieldContainer[Shareholding]
    consulting: _containers.RepeatedCompositeFieldContainer[ConsultingEngagement]
    def __init__(self, user_id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., employer_organization_id: _Optional[str] = ..., employment: _Optional[_Iterable[_Union[EmploymentRecord, _Mapping]]] = ..., shareholdings: _Optional[_Iterable[_Union[Shareholding, _Mapping]]] = ..., consulting: _Optional[_Iterable[_Union[ConsultingEngagement, _Mapping]]] = ...) -> None: ...

class RegisterExpertResponse(_message.Message):
    __slots__ = ("expert",)
    EXPERT_FIELD_NUMBER: _ClassVar[int]
    expert: Expert
    def __init__(self, expert: _Optional[_Union[Expert, _Mapping]] = ...) -> None: ...

class ListExpertsRequest(_message.Message):
    __slots__ = ("field",)
    FIELD_FIELD_NUMBER: _ClassVar[int]
    field: str
    def __init__(self, field: _Optional[str] = ...) -> None: ...

class ListExpertsResponse(_message.Message):
    __slots__ = ("experts",)
    EXPERTS_FIELD_NUMBER: _ClassVar[int]
    experts: _containers.RepeatedCompositeFieldContainer[Expert]
    def __init__(self, experts: _Optional[_Iterable[_Union[Expert, _Mapping]]] = ...) -> None: ...

class CheckEligibilityRequest(_message.Message):
    __slots__ = ("organization_id", "as_of_date")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    as_of_date: str
    def __init__(self, organization_id: _Optional[str] = ..., as_of_date: _Optional[str] = ...) -> None: ...

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

class CheckEligibilityResponse(_message.Message):
    __slots__ = ("eligible", "failures")
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    eligible: bool
    failures: _containers.RepeatedCompositeFieldContainer[EligibilityFailure]
    def __init__(self, eligible: _Optional[bool] = ..., failures: _Optional[_Iterable[_Union[EligibilityFailure, _Mapping]]] = ...) -> None: ...

class RecordCreditRecordRequest(_message.Message):
    __slots__ = ("uscc", "severity", "start_date", "end_date", "source", "reference")
    USCC_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    severity: str
    start_date: str
    end_date: str
    source: str
    reference: str
    def __init__(self, uscc: _Optional[str] = ..., severity: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., source: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class RecordCreditRecordResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordGreenThresholdRequest(_message.Message):
    __slots__ = ("uscc", "meets", "as_of_date", "source")
    USCC_FIELD_NUMBER: _ClassVar[int]
    MEETS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    meets: bool
    as_of_date: str
    source: str
    def __init__(self, uscc: _Optional[str] = ..., meets: _Optional[bool] = ..., as_of_date: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class RecordGreenThresholdResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImportRegistryRecordsRequest(_message.Message):
    __slots__ = ("kind", "csv_text")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CSV_TEXT_FIELD_NUMBER: _ClassVar[int]
    kind: RegistryKind
    csv_text: str
    def __init__(self, kind: _Optional[_Union[RegistryKind, str]] = ..., csv_text: _Optional[str] = ...) -> None: ...

class ImportRegistryRecordsResponse(_message.Message):
    __slots__ = ("imported",)
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    imported: int
    def __init__(self, imported: _Optional[int] = ...) -> None: ...
