from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SweepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_STATE_UNSPECIFIED: _ClassVar[SweepState]
    SWEEP_STATE_RUNNING: _ClassVar[SweepState]
    SWEEP_STATE_PAUSED: _ClassVar[SweepState]
    SWEEP_STATE_FINISHED: _ClassVar[SweepState]
    SWEEP_STATE_CANCELED: _ClassVar[SweepState]

class SweepAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_ACTION_UNSPECIFIED: _ClassVar[SweepAction]
    SWEEP_ACTION_PAUSE: _ClassVar[SweepAction]
    SWEEP_ACTION_RESUME: _ClassVar[SweepAction]
    SWEEP_ACTION_FINISH: _ClassVar[SweepAction]
    SWEEP_ACTION_CANCEL: _ClassVar[SweepAction]
SWEEP_STATE_UNSPECIFIED: SweepState
SWEEP_STATE_RUNNING: SweepState
SWEEP_STATE_PAUSED: SweepState
SWEEP_STATE_FINISHED: SweepState
SWEEP_STATE_CANCELED: SweepState
SWEEP_ACTION_UNSPECIFIED: SweepAction
SWEEP_ACTION_PAUSE: SweepAction
SWEEP_ACTION_RESUME: SweepAction
SWEEP_ACTION_FINISH: SweepAction
SWEEP_ACTION_CANCEL: SweepAction

class SweepRef(_message.Message):
    __slots__ = ("entity", "project", "sweep_id")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    sweep_id: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., sweep_id: _Optional[str] = ...) -> None: ...

class SweepRun(_message.Message):
    __slots__ = ("run_id", "params_json", "state", "stopped_early", "has_metric", "metric", "agent_id", "created_at", "name", "prior")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_EARLY_FIELD_NUMBER: _ClassVar[int]
    HAS_METRIC_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRIOR_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    params_json: str
    state: str
    stopped_early: bool
    has_metric: bool
    metric: float
    agent_id: str
    created_at: float
    name: str
    prior: bool
    def __init__(self, run_id: _Optional[str] = ..., params_json: _Optional[str] = ..., state: _Optional[str] = ..., stopped_early: _Optional[bool] = ..., has_metric: _Optional[bool] = ..., metric: _Optional[float] = ..., agent_id: _Optional[str] = ..., created_at: _Optional[float] = ..., name: _Optional[str] = ..., prior: _Optional[bool] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ("ref", "config_json", "state", "name", "created_at", "updated_at", "run_count", "runs", "best_run_id", "grid_size", "owner_uid")
    REF_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    BEST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    GRID_SIZE_FIELD_NUMBER: _ClassVar[int]
    OWNER_UID_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    config_json: str
    state: SweepState
    name: str
    created_at: float
    updated_at: float
    run_count: int
    runs: _containers.RepeatedCompositeFieldContainer[SweepRun]
    best_run_id: str
    grid_size: int
    owner_uid: int
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., config_json: _Optional[str] = ..., state: _Optional[_Union[SweepState, str]] = ..., name: _Optional[str] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., run_count: _Optional[int] = ..., runs: _Optional[_Iterable[_Union[SweepRun, _Mapping]]] = ..., best_run_id: _Optional[str] = ..., grid_size: _Optional[int] = ..., owner_uid: _Optional[int] = ...) -> None: ...

class CreateSweepRequest(_message.Message):
    __slots__ = ("entity", "project", "config_json", "prior_runs")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PRIOR_RUNS_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    config_json: str
    prior_runs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., config_json: _Optional[str] = ..., prior_runs: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateSweepResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class GetSweepRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ...) -> None: ...

class GetSweepResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class ListSweepsRequest(_message.Message):
    __slots__ = ("entity", "project")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListSweepsResponse(_message.Message):
    __slots__ = ("sweeps",)
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    sweeps: _containers.RepeatedCompositeFieldContainer[Sweep]
    def __init__(self, sweeps: _Optional[_Iterable[_Union[Sweep, _Mapping]]] = ...) -> None: ...

class SetSweepStateRequest(_message.Message):
    __slots__ = ("ref", "action")
    REF_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    action: SweepAction
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., action: _Optional[_Union[SweepAction, str]] = ...) -> None: ...

class SetSweepStateResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class NextRunRequest(_message.Message):
    __slots__ = ("ref", "agent_id", "request_id", "wait_seconds")
    REF_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    agent_id: str
    request_id: str
    wait_seconds: float
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., agent_id: _Optional[str] = ..., request_id: _Optional[str] = ..., wait_seconds: _Optional[float] = ...) -> None: ...

class NextRunResponse(_message.Message):
    __slots__ = ("run_id", "params_json", "entity", "project", "done", "state", "reason")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    params_json: str
    entity: str
    project: str
    done: bool
    state: SweepState
    reason: str
    def __init__(self, run_id: _Optional[str] = ..., params_json: _Optional[str] = ..., entity: _Optional[str] = ..., project: _Optional[str] = ..., done: _Optional[bool] = ..., state: _Optional[_Union[SweepState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentHeartbeatRequest(_message.Message):
    __slots__ = ("ref", "agent_id", "running", "exits")
    REF_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    EXITS_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    agent_id: str
    running: _containers.RepeatedScalarFieldContainer[str]
    exits: _containers.RepeatedCompositeFieldContainer[AgentRunExit]
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., agent_id: _Optional[str] = ..., running: _Optional[_Iterable[str]] = ..., exits: _Optional[_Iterable[_Union[AgentRunExit, _Mapping]]] = ...) -> None: ...

class AgentRunExit(_message.Message):
    __slots__ = ("run_id", "exit_code")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    exit_code: int
    def __init__(self, run_id: _Optional[str] = ..., exit_code: _Optional[int] = ...) -> None: ...

class AgentHeartbeatResponse(_message.Message):
    __slots__ = ("stop", "state")
    STOP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    stop: _containers.RepeatedScalarFieldContainer[str]
    state: SweepState
    def __init__(self, stop: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[SweepState, str]] = ...) -> None: ...

class ScheduleRunsRequest(_message.Message):
    __slots__ = ("ref", "params_json")
    REF_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    params_json: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., params_json: _Optional[_Iterable[str]] = ...) -> None: ...

class ScheduleRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[SweepRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[SweepRun, _Mapping]]] = ...) -> None: ...

class PreviewRunRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ...) -> None: ...

class PreviewRunResponse(_message.Message):
    __slots__ = ("params_json",)
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    params_json: str
    def __init__(self, params_json: _Optional[str] = ...) -> None: ...

class StopSweepRunsRequest(_message.Message):
    __slots__ = ("ref", "run_ids", "only_candidates")
    REF_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    ONLY_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    ref: SweepRef
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    only_candidates: bool
    def __init__(self, ref: _Optional[_Union[SweepRef, _Mapping]] = ..., run_ids: _Optional[_Iterable[str]] = ..., only_candidates: _Optional[bool] = ...) -> None: ...

class StopSweepRunsResponse(_message.Message):
    __slots__ = ("run_ids",)
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ...) -> None: ...
