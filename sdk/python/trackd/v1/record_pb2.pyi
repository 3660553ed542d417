from trackd.v1 import run_pb2 as _run_pb2
from trackd.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsoleStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSOLE_STREAM_UNSPECIFIED: _ClassVar[ConsoleStream]
    CONSOLE_STREAM_STDOUT: _ClassVar[ConsoleStream]
    CONSOLE_STREAM_STDERR: _ClassVar[ConsoleStream]

class AlertLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_LEVEL_UNSPECIFIED: _ClassVar[AlertLevel]
    ALERT_LEVEL_INFO: _ClassVar[AlertLevel]
    ALERT_LEVEL_WARN: _ClassVar[AlertLevel]
    ALERT_LEVEL_ERROR: _ClassVar[AlertLevel]
CONSOLE_STREAM_UNSPECIFIED: ConsoleStream
CONSOLE_STREAM_STDOUT: ConsoleStream
CONSOLE_STREAM_STDERR: ConsoleStream
ALERT_LEVEL_UNSPECIFIED: AlertLevel
ALERT_LEVEL_INFO: AlertLevel
ALERT_LEVEL_WARN: AlertLevel
ALERT_LEVEL_ERROR: AlertLevel

class Record(_message.Message):
    __slots__ = ("seq", "history", "summary", "config", "metric", "run_update", "exit", "resume", "rewind", "preempting", "alert", "console", "history_rows")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RUN_UPDATE_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    REWIND_FIELD_NUMBER: _ClassVar[int]
    PREEMPTING_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    CONSOLE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ROWS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    history: HistoryRecord
    summary: SummaryRecord
    config: ConfigRecord
    metric: MetricRecord
    run_update: RunUpdateRecord
    exit: ExitRecord
    resume: ResumeRecord
    rewind: RewindRecord
    preempting: PreemptingRecord
    alert: AlertRecord
    console: ConsoleRecord
    history_rows: HistoryRowsRecord
    def __init__(self, seq: _Optional[int] = ..., history: _Optional[_Union[HistoryRecord, _Mapping]] = ..., summary: _Optional[_Union[SummaryRecord, _Mapping]] = ..., config: _Optional[_Union[ConfigRecord, _Mapping]] = ..., metric: _Optional[_Union[MetricRecord, _Mapping]] = ..., run_update: _Optional[_Union[RunUpdateRecord, _Mapping]] = ..., exit: _Optional[_Union[ExitRecord, _Mapping]] = ..., resume: _Optional[_Union[ResumeRecord, _Mapping]] = ..., rewind: _Optional[_Union[RewindRecord, _Mapping]] = ..., preempting: _Optional[_Union[PreemptingRecord, _Mapping]] = ..., alert: _Optional[_Union[AlertRecord, _Mapping]] = ..., console: _Optional[_Union[ConsoleRecord, _Mapping]] = ..., history_rows: _Optional[_Union[HistoryRowsRecord, _Mapping]] = ...) -> None: ...

class HistoryRecord(_message.Message):
    __slots__ = ("data", "step", "commit", "timestamp", "packed_data")
    DATA_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PACKED_DATA_FIELD_NUMBER: _ClassVar[int]
    data: _value_pb2.MapValue
    step: int
    commit: bool
    timestamp: float
    packed_data: bytes
    def __init__(self, data: _Optional[_Union[_value_pb2.MapValue, _Mapping]] = ..., step: _Optional[int] = ..., commit: _Optional[bool] = ..., timestamp: _Optional[float] = ..., packed_data: _Optional[bytes] = ...) -> None: ...

class HistoryRowsRecord(_message.Message):
    __slots__ = ("packed_data", "timestamps")
    PACKED_DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    packed_data: _containers.RepeatedScalarFieldContainer[bytes]
    timestamps: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, packed_data: _Optional[_Iterable[bytes]] = ..., timestamps: _Optional[_Iterable[float]] = ...) -> None: ...

class SummaryItem(_message.Message):
    __slots__ = ("path", "value")
    PATH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    path: _containers.RepeatedScalarFieldContainer[str]
    value: _value_pb2.Value
    def __init__(self, path: _Optional[_Iterable[str]] = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ...) -> None: ...

class KeyPath(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[_Iterable[str]] = ...) -> None: ...

class SummaryRecord(_message.Message):
    __slots__ = ("update", "remove")
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    update: _containers.RepeatedCompositeFieldContainer[SummaryItem]
    remove: _containers.RepeatedCompositeFieldContainer[KeyPath]
    def __init__(self, update: _Optional[_Iterable[_Union[SummaryItem, _Mapping]]] = ..., remove: _Optional[_Iterable[_Union[KeyPath, _Mapping]]] = ...) -> None: ...

class ConfigRecord(_message.Message):
    __slots__ = ("update", "remove")
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    update: _value_pb2.MapValue
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, update: _Optional[_Union[_value_pb2.MapValue, _Mapping]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class MetricRecord(_message.Message):
    __slots__ = ("definition", "overwrite")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    definition: _run_pb2.MetricDefinition
    overwrite: bool
    def __init__(self, definition: _Optional[_Union[_run_pb2.MetricDefinition, _Mapping]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class TagList(_message.Message):
    __slots__ = ("tags",)
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tags: _Optional[_Iterable[str]] = ...) -> None: ...

class RunUpdateRecord(_message.Message):
    __slots__ = ("name", "notes", "tags", "group", "job_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    notes: str
    tags: TagList
    group: str
    job_type: str
    def __init__(self, name: _Optional[str] = ..., notes: _Optional[str] = ..., tags: _Optional[_Union[TagList, _Mapping]] = ..., group: _Optional[str] = ..., job_type: _Optional[str] = ...) -> None: ...

class ExitRecord(_message.Message):
    __slots__ = ("exit_code",)
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    def __init__(self, exit_code: _Optional[int] = ...) -> None: ...

class ResumeRecord(_message.Message):
    __slots__ = ("start_time", "next_step")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_STEP_FIELD_NUMBER: _ClassVar[int]
    start_time: float
    next_step: int
    def __init__(self, start_time: _Optional[float] = ..., next_step: _Optional[int] = ...) -> None: ...

class RewindRecord(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: int
    def __init__(self, step: _Optional[int] = ...) -> None: ...

class PreemptingRecord(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AlertRecord(_message.Message):
    __slots__ = ("title", "text", "level", "wait_duration_ms", "timestamp")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    WAIT_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    title: str
    text: str
    level: AlertLevel
    wait_duration_ms: int
    timestamp: float
    def __init__(self, title: _Optional[str] = ..., text: _Optional[str] = ..., level: _Optional[_Union[AlertLevel, str]] = ..., wait_duration_ms: _Optional[int] = ..., timestamp: _Optional[float] = ...) -> None: ...

class ConsoleRecord(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[ConsoleLine]
    def __init__(self, lines: _Optional[_Iterable[_Union[ConsoleLine, _Mapping]]] = ...) -> None: ...

class ConsoleLine(_message.Message):
    __slots__ = ("stream", "line", "timestamp", "text")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    stream: ConsoleStream
    line: int
    timestamp: float
    text: str
    def __init__(self, stream: _Optional[_Union[ConsoleStream, str]] = ..., line: _Optional[int] = ..., timestamp: _Optional[float] = ..., text: _Optional[str] = ...) -> None: ...

class WalEntry(_message.Message):
    __slots__ = ("run", "records", "writer")
    RUN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    WRITER_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    records: _containers.RepeatedCompositeFieldContainer[Record]
    writer: str
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., writer: _Optional[str] = ...) -> None: ...
