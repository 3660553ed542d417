from trackd.v1 import run_pb2 as _run_pb2
from trackd.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResumePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESUME_POLICY_UNSPECIFIED: _ClassVar[ResumePolicy]
    RESUME_POLICY_NEVER: _ClassVar[ResumePolicy]
    RESUME_POLICY_ALLOW: _ClassVar[ResumePolicy]
    RESUME_POLICY_MUST: _ClassVar[ResumePolicy]
RESUME_POLICY_UNSPECIFIED: ResumePolicy
RESUME_POLICY_NEVER: ResumePolicy
RESUME_POLICY_ALLOW: ResumePolicy
RESUME_POLICY_MUST: ResumePolicy

class UpdateRunRequest(_message.Message):
    __slots__ = ("ref", "name", "notes", "set_tags", "tags")
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SET_TAGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    name: str
    notes: str
    set_tags: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., name: _Optional[str] = ..., notes: _Optional[str] = ..., set_tags: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class MoveRunRequest(_message.Message):
    __slots__ = ("ref", "project")
    REF_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    project: str
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class MoveRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class DeleteRunRequest(_message.Message):
    __slots__ = ("ref", "delete_artifacts")
    REF_FIELD_NUMBER: _ClassVar[int]
    DELETE_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    delete_artifacts: bool
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., delete_artifacts: _Optional[bool] = ...) -> None: ...

class DeleteRunResponse(_message.Message):
    __slots__ = ("blobs_released", "artifacts_deleted")
    BLOBS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_DELETED_FIELD_NUMBER: _ClassVar[int]
    blobs_released: int
    artifacts_deleted: int
    def __init__(self, blobs_released: _Optional[int] = ..., artifacts_deleted: _Optional[int] = ...) -> None: ...

class StopRunRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ...) -> None: ...

class StopRunResponse(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: int
    def __init__(self, streams: _Optional[int] = ...) -> None: ...

class CreateRunRequest(_message.Message):
    __slots__ = ("ref", "name", "notes", "tags", "group", "job_type", "config", "start_time", "host", "program", "request_id", "sweep_id", "resume", "fork_from", "rewind_to", "shared", "writer", "pid", "stats_sampling_interval", "crash_grace_seconds", "http_proxy", "https_proxy")
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    FORK_FROM_FIELD_NUMBER: _ClassVar[int]
    REWIND_TO_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    WRITER_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STATS_SAMPLING_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    CRASH_GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HTTP_PROXY_FIELD_NUMBER: _ClassVar[int]
    HTTPS_PROXY_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    name: str
    notes: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    group: str
    job_type: str
    config: _value_pb2.MapValue
    start_time: float
    host: str
    program: str
    request_id: str
    sweep_id: str
    resume: ResumePolicy
    fork_from: _run_pb2.RunMoment
    rewind_to: _run_pb2.RunMoment
    shared: bool
    writer: str
    pid: int
    stats_sampling_interval: float
    crash_grace_seconds: float
    http_proxy: str
    https_proxy: str
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., name: _Optional[str] = ..., notes: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., job_type: _Optional[str] = ..., config: _Optional[_Union[_value_pb2.MapValue, _Mapping]] = ..., start_time: _Optional[float] = ..., host: _Optional[str] = ..., program: _Optional[str] = ..., request_id: _Optional[str] = ..., sweep_id: _Optional[str] = ..., resume: _Optional[_Union[ResumePolicy, str]] = ..., fork_from: _Optional[_Union[_run_pb2.RunMoment, _Mapping]] = ..., rewind_to: _Optional[_Union[_run_pb2.RunMoment, _Mapping]] = ..., shared: _Optional[bool] = ..., writer: _Optional[str] = ..., pid: _Optional[int] = ..., stats_sampling_interval: _Optional[float] = ..., crash_grace_seconds: _Optional[float] = ..., http_proxy: _Optional[str] = ..., https_proxy: _Optional[str] = ...) -> None: ...

class CreateRunResponse(_message.Message):
    __slots__ = ("run", "resumed", "starting_step")
    RUN_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    STARTING_STEP_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    resumed: bool
    starting_step: int
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., resumed: _Optional[bool] = ..., starting_step: _Optional[int] = ...) -> None: ...

class FinishRunRequest(_message.Message):
    __slots__ = ("ref", "exit_code", "last_seq", "timeout_seconds", "writer")
    REF_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WRITER_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    exit_code: int
    last_seq: int
    timeout_seconds: float
    writer: str
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., exit_code: _Optional[int] = ..., last_seq: _Optional[int] = ..., timeout_seconds: _Optional[float] = ..., writer: _Optional[str] = ...) -> None: ...

class FinishRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class GetRunStatusRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: _run_pb2.RunRef
    def __init__(self, ref: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ...) -> None: ...

class GetRunStatusResponse(_message.Message):
    __slots__ = ("state", "acked_seq", "ingested_seq", "streams", "history_rows")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    INGESTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ROWS_FIELD_NUMBER: _ClassVar[int]
    state: _run_pb2.RunState
    acked_seq: int
    ingested_seq: int
    streams: int
    history_rows: int
    def __init__(self, state: _Optional[_Union[_run_pb2.RunState, str]] = ..., acked_seq: _Optional[int] = ..., ingested_seq: _Optional[int] = ..., streams: _Optional[int] = ..., history_rows: _Optional[int] = ...) -> None: ...
