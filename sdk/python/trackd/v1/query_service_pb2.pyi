from trackd.v1 import record_pb2 as _record_pb2
from trackd.v1 import run_pb2 as _run_pb2
from trackd.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListProjectsRequest(_message.Message):
    __slots__ = ("entity", "project")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class Project(_message.Message):
    __slots__ = ("entity", "name", "created_at", "updated_at", "run_count", "running")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    entity: str
    name: str
    created_at: float
    updated_at: float
    run_count: int
    running: int
    def __init__(self, entity: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., run_count: _Optional[int] = ..., running: _Optional[int] = ...) -> None: ...

class ListProjectsResponse(_message.Message):
    __slots__ = ("projects",)
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    def __init__(self, projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("entity", "project", "run_id", "limit")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    run_id: str
    limit: int
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., run_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("run", "title", "text", "level", "timestamp", "suppressed", "delivered_at")
    RUN_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    title: str
    text: str
    level: _record_pb2.AlertLevel
    timestamp: float
    suppressed: bool
    delivered_at: float
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., level: _Optional[_Union[_record_pb2.AlertLevel, str]] = ..., timestamp: _Optional[float] = ..., suppressed: _Optional[bool] = ..., delivered_at: _Optional[float] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("entity", "project", "page_size", "page_token")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    page_size: int
    page_token: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("ref", "min_ingested_seq")
    REF_FIELD_NUMBER: _ClassVar[int]
    MIN_INGESTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    min_ingested_seq: int
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., min_ingested_seq: _Optional[int] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class ScanHistoryRequest(_message.Message):
    __slots__ = ("ref", "keys", "min_step", "max_step", "page_size", "samples", "stream")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    MIN_STEP_FIELD_NUMBER: _ClassVar[int]
    MAX_STEP_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    keys: _containers.RepeatedScalarFieldContainer[str]
    min_step: int
    max_step: int
    page_size: int
    samples: int
    stream: str
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., keys: _Optional[_Iterable[str]] = ..., min_step: _Optional[int] = ..., max_step: _Optional[int] = ..., page_size: _Optional[int] = ..., samples: _Optional[int] = ..., stream: _Optional[str] = ...) -> None: ...

class ScanHistoryResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[_value_pb2.MapValue]
    def __init__(self, rows: _Optional[_Iterable[_Union[_value_pb2.MapValue, _Mapping]]] = ...) -> None: ...
