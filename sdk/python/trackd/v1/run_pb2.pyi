from trackd.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_FINISHED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CRASHED: _ClassVar[RunState]
    RUN_STATE_KILLED: _ClassVar[RunState]
    RUN_STATE_PREEMPTED: _ClassVar[RunState]

class MetricGoal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_GOAL_UNSPECIFIED: _ClassVar[MetricGoal]
    METRIC_GOAL_MINIMIZE: _ClassVar[MetricGoal]
    METRIC_GOAL_MAXIMIZE: _ClassVar[MetricGoal]
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_FINISHED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CRASHED: RunState
RUN_STATE_KILLED: RunState
RUN_STATE_PREEMPTED: RunState
METRIC_GOAL_UNSPECIFIED: MetricGoal
METRIC_GOAL_MINIMIZE: MetricGoal
METRIC_GOAL_MAXIMIZE: MetricGoal

class RunRef(_message.Message):
    __slots__ = ("entity", "project", "run_id")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    run_id: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("ref", "name", "notes", "tags", "group", "job_type", "state", "exit_code", "created_at", "updated_at", "finished_at", "config", "summary", "history_rows", "last_step", "host", "program", "start_time", "acked_seq", "metrics", "sweep_id", "forked_from", "preempting", "stop_requested", "summary_omitted", "user")
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_ROWS_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    FORKED_FROM_FIELD_NUMBER: _ClassVar[int]
    PREEMPTING_FIELD_NUMBER: _ClassVar[int]
    STOP_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_OMITTED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ref: RunRef
    name: str
    notes: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    group: str
    job_type: str
    state: RunState
    exit_code: int
    created_at: float
    updated_at: float
    finished_at: float
    config: _value_pb2.MapValue
    summary: _value_pb2.MapValue
    history_rows: int
    last_step: int
    host: str
    program: str
    start_time: float
    acked_seq: int
    metrics: _containers.RepeatedCompositeFieldContainer[MetricDefinition]
    sweep_id: str
    forked_from: RunMoment
    preempting: bool
    stop_requested: bool
    summary_omitted: bool
    user: str
    def __init__(self, ref: _Optional[_Union[RunRef, _Mapping]] = ..., name: _Optional[str] = ..., notes: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., job_type: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., exit_code: _Optional[int] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., config: _Optional[_Union[_value_pb2.MapValue, _Mapping]] = ..., summary: _Optional[_Union[_value_pb2.MapValue, _Mapping]] = ..., history_rows: _Optional[int] = ..., last_step: _Optional[int] = ..., host: _Optional[str] = ..., program: _Optional[str] = ..., start_time: _Optional[float] = ..., acked_seq: _Optional[int] = ..., metrics: _Optional[_Iterable[_Union[MetricDefinition, _Mapping]]] = ..., sweep_id: _Optional[str] = ..., forked_from: _Optional[_Union[RunMoment, _Mapping]] = ..., preempting: _Optional[bool] = ..., stop_requested: _Optional[bool] = ..., summary_omitted: _Optional[bool] = ..., user: _Optional[str] = ...) -> None: ...

class RunMoment(_message.Message):
    __slots__ = ("run_id", "step")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    step: int
    def __init__(self, run_id: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...

class MetricDefinition(_message.Message):
    __slots__ = ("name", "step_metric", "step_sync", "hidden", "summary", "goal")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEP_METRIC_FIELD_NUMBER: _ClassVar[int]
    STEP_SYNC_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    step_metric: str
    step_sync: bool
    hidden: bool
    summary: _containers.RepeatedScalarFieldContainer[str]
    goal: MetricGoal
    def __init__(self, name: _Optional[str] = ..., step_metric: _Optional[str] = ..., step_sync: _Optional[bool] = ..., hidden: _Optional[bool] = ..., summary: _Optional[_Iterable[str]] = ..., goal: _Optional[_Union[MetricGoal, str]] = ...) -> None: ...
