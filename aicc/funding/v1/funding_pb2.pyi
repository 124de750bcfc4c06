import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DisbursementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISBURSEMENT_STATUS_UNSPECIFIED: _ClassVar[DisbursementStatus]
    DISBURSEMENT_STATUS_REQUESTED: _ClassVar[DisbursementStatus]
    DISBURSEMENT_STATUS_PAID: _ClassVar[DisbursementStatus]
    DISBURSEMENT_STATUS_FAILED: _ClassVar[DisbursementStatus]
DISBURSEMENT_STATUS_UNSPECIFIED: DisbursementStatus
DISBURSEMENT_STATUS_REQUESTED: DisbursementStatus
DISBURSEMENT_STATUS_PAID: DisbursementStatus
DISBURSEMENT_STATUS_FAILED: DisbursementStatus

class Budget(_message.Message):
    __slots__ = ("cycle_id", "total_fen", "reserved_fen", "disbursed_fen", "available_fen", "reservation_version")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FEN_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FEN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_VERSION_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    total_fen: int
    reserved_fen: int
    disbursed_fen: int
    available_fen: int
    reservation_version: int
    def __init__(self, cycle_id: _Optional[str] = ..., total_fen: _Optional[int] = ..., reserved_fen: _Optional[int] = ..., disbursed_fen: _Optional[int] = ..., available_fen: _Optional[int] = ..., reservation_version: _Optional[int] = ...) -> None: ...

class OpenBudgetRequest(_message.Message):
    __slots__ = ("cycle_id", "total_fen")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    total_fen: int
    def __init__(self, cycle_id: _Optional[str] = ..., total_fen: _Optional[int] = ...) -> None: ...

class OpenBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class ReservationLine(_message.Message):
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

class ReserveFundsRequest(_message.Message):
    __slots__ = ("cycle_id", "proposal_version", "lines")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    proposal_version: int
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    def __init__(self, cycle_id: _Optional[str] = ..., proposal_version: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ...) -> None: ...

class ReserveFundsResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class Disbursement(_message.Message):
    __slots__ = ("disbursement_id", "cycle_id", "application_id", "organization_id", "amount_fen", "status", "treasury_reference", "idempotency_key", "requested_at", "city_code")
    DISBURSEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TREASURY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    disbursement_id: str
    cycle_id: str
    application_id: str
    organization_id: str
    amount_fen: int
    status: DisbursementStatus
    treasury_reference: str
    idempotency_key: str
    requested_at: _timestamp_pb2.Timestamp
    city_code: str
    def __init__(self, disbursement_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., status: _Optional[_Union[DisbursementStatus, str]] = ..., treasury_reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_code: _Optional[str] = ...) -> None: ...

class DisburseAwardRequest(_message.Message):
    __slots__ = ("cycle_id", "application_id", "organization_id", "amount_fen", "idempotency_key", "city_code")
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    application_id: str
    organization_id: str
    amount_fen: int
    idempotency_key: str
    city_code: str
    def __init__(self, cycle_id: _Optional[str] = ..., application_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., city_code: _Optional[str] = ...) -> None: ...

class DisburseAwardResponse(_message.Message):
    __slots__ = ("disbursement",)
    DISBURSEMENT_FIELD_NUMBER: _ClassVar[int]
    disbursement: Disbursement
    def __init__(self, disbursement: _Optional[_Union[Disbursement, _Mapping]] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class GetBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class ListDisbursementsRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ListDisbursementsResponse(_message.Message):
    __slots__ = ("disbursements",)
    DISBURSEMENTS_FIELD_NUMBER: _ClassVar[int]
    disbursements: _containers.RepeatedCompositeFieldContainer[Disbursement]
    def __init__(self, disbursements: _Optional[_Iterable[_Union[Disbursement, _Mapping]]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("entry_id", "cycle_id", "transaction_id", "account", "amount_fen", "memo", "posted_at")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    cycle_id: str
    transaction_id: str
    account: str
    amount_fen: int
    memo: str
    posted_at: _timestamp_pb2.Timestamp
    def __init__(self, entry_id: _Optional[str] = ..., cycle_id: _Optional[str] = ..., transaction_id: _Optional[str] = ..., account: _Optional[str] = ..., amount_fen: _Optional[int] = ..., memo: _Optional[str] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListLedgerEntriesRequest(_message.Message):
    __slots__ = ("cycle_id",)
    CYCLE_ID_FIELD_NUMBER: _ClassVar[int]
    cycle_id: str
    def __init__(self, cycle_id: _Optional[str] = ...) -> None: ...

class ListLedgerEntriesResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ...) -> None: ...
