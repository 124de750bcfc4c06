import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluationGrade(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_GRADE_UNSPECIFIED: _ClassVar[EvaluationGrade]
    EVALUATION_GRADE_EXCELLENT: _ClassVar[EvaluationGrade]
    EVALUATION_GRADE_GOOD: _ClassVar[EvaluationGrade]
    EVALUATION_GRADE_PASS: _ClassVar[EvaluationGrade]
    EVALUATION_GRADE_FAIL: _ClassVar[EvaluationGrade]
EVALUATION_GRADE_UNSPECIFIED: EvaluationGrade
EVALUATION_GRADE_EXCELLENT: EvaluationGrade
EVALUATION_GRADE_GOOD: EvaluationGrade
EVALUATION_GRADE_PASS: EvaluationGrade
EVALUATION_GRADE_FAIL: EvaluationGrade

class AwardRef(_message.Message):
    __slots__ = ("application_id", "organization_id", "amount_fen", "city_code")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str
    def __init__(self, application_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., city_code: _Optional[str] = ...) -> None: ...

class TargetTemplate(_message.Message):
    __slots__ = ("code", "description", "unit", "target_value")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    code: str
    description: str
    unit: str
    target_value: str
    def __init__(self, code: _Optional[str] = ..., description: _Optional[str] = ..., unit: _Optional[str] = ..., target_value: _Optional[str] = ...) -> None: ...

class PerformanceTarget(_message.Message):
    __slots__ = ("target_id", "cycle_id", "application_id", "organization_id", "code", "description", "unit", "target_value", "reported_value", "city_code")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    REPORTED_VALUE_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    target_id: str
    cycle_id: str
    application_id: str
    organization_id: str
    code: str
    description: str
    unit: str
    target_value: str
    reported_value: str
    city_code: str
    def __init__(self, target_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., code: _Optional[str] = ..., description: _Optional[str] = ..., unit: _Optional[str] = ..., target_value: _Optional[str] = ..., reported_value: _Optional[str] = ..., city_code: _Optional[str] = ...) -> None: ...

class CreatePerformanceTargetsRequest(_message.Message):
    __slots__ = ("cycle_id", "awards", "templates")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    awards: _containers.RepeatedCompositeFieldContainer[AwardRef]
    templates: _containers.RepeatedCompositeFieldContainer[TargetTemplate]
    def __init__(self, cycle_id: _Optional[str] = ..., awards: _Optional[_Iterable[_Union[AwardRef, _Mapping]]] = ..., templates: _Optional[_Iterable[_Union[TargetTemplate, _Mapping]]] = ...) -> None: ...

class CreatePerformanceTargetsResponse(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[PerformanceTarget]
    def __init__(self, targets: _Optional[_Iterable[_Union[PerformanceTarget, _Mapping]]] = ...) -> None: ...

class ListPerformanceTargetsRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ListPerformanceTargetsResponse(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[PerformanceTarget]
    def __init__(self, targets: _Optional[_Iterable[_Union[PerformanceTarget, _Mapping]]] = ...) -> None: ...

class ReportedValue(_message.Message):
    __slots__ = ("target_id", "value")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    target_id: str
    value: str
    def __init__(self, target_id: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class MonitoringReport(_message.Message):
    __slots__ = ("report_id", "cycle_id", "application_id", "values", "narrative", "submitted_at")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    NARRATIVE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    cycle_id: str
    application_id: str
    values: _containers.RepeatedCompositeFieldContainer[ReportedValue]
    narrative: str
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, report_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ReportedValue, _Mapping]]] = ..., narrative: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitMonitoringReportRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id", "values", "narrative")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    NARRATIVE_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    values: _containers.RepeatedCompositeFieldContainer[ReportedValue]
    narrative: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ReportedValue, _Mapping]]] = ..., narrative: _Optional[str] = ...) -> None: ...

class SubmitMonitoringReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: MonitoringReport
    def __init__(self, report: _Optional[_Union[MonitoringReport, _Mapping]] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("evaluation_id", "cycle_id", "application_id", "grade", "comments", "evaluated_by", "evaluated_at")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_BY_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    cycle_id: str
    application_id: str
    grade: EvaluationGrade
    comments: str
    evaluated_by: str
    evaluated_at: _timestamp_pb2.Timestamp
    def __init__(self, evaluation_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., grade: _Optional[_Union[EvaluationGrade, str]] = ..., comments: _Optional[str] = ..., evaluated_by: _Optional[str] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordEvaluationRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id", "grade", "comments")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    grade: EvaluationGrade
    comments: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., grade: _Optional[_Union[EvaluationGrade, str]] = ..., comments: _Optional[str] = ...) -> None: ...

class RecordEvaluationResponse(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: Evaluation
    def __init__(self, evaluation: _Optional[_Union[Evaluation, _Mapping]] = ...) -> None: ...

class GetSupervisionStatusRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class GetSupervisionStatusResponse(_message.Message):
    __slots__ = ("awards", "reported", "evaluated")
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    awards: int
    reported: int
    evaluated: int
    def __init__(self, awards: _Optional[int] = ..., reported: _Optional[int] = ..., evaluated: _Optional[int] = ...) -> None: ...
