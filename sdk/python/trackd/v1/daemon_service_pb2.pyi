from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetDaemonInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueueStats(_message.Message):
    __slots__ = ("name", "used", "capacity", "waiting_senders")
    NAME_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    WAITING_SENDERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    used: int
    capacity: int
    waiting_senders: int
    def __init__(self, name: _Optional[str] = ..., used: _Optional[int] = ..., capacity: _Optional[int] = ..., waiting_senders: _Optional[int] = ...) -> None: ...

class GetDaemonInfoResponse(_message.Message):
    __slots__ = ("version", "pid", "store_url", "uptime_seconds", "runs_in_flight", "addresses", "queues", "root", "log_file", "dashboard_url", "dashboard_token_file", "reads_caller_paths", "handoff_socket")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STORE_URL_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RUNS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    LOG_FILE_FIELD_NUMBER: _ClassVar[int]
    DASHBOARD_URL_FIELD_NUMBER: _ClassVar[int]
    DASHBOARD_TOKEN_FILE_FIELD_NUMBER: _ClassVar[int]
    READS_CALLER_PATHS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_SOCKET_FIELD_NUMBER: _ClassVar[int]
    version: str
    pid: int
    store_url: str
    uptime_seconds: float
    runs_in_flight: int
    addresses: _containers.RepeatedScalarFieldContainer[str]
    queues: _containers.RepeatedCompositeFieldContainer[QueueStats]
    root: str
    log_file: str
    dashboard_url: str
    dashboard_token_file: str
    reads_caller_paths: bool
    handoff_socket: str
    def __init__(self, version: _Optional[str] = ..., pid: _Optional[int] = ..., store_url: _Optional[str] = ..., uptime_seconds: _Optional[float] = ..., runs_in_flight: _Optional[int] = ..., addresses: _Optional[_Iterable[str]] = ..., queues: _Optional[_Iterable[_Union[QueueStats, _Mapping]]] = ..., root: _Optional[str] = ..., log_file: _Optional[str] = ..., dashboard_url: _Optional[str] = ..., dashboard_token_file: _Optional[str] = ..., reads_caller_paths: _Optional[bool] = ..., handoff_socket: _Optional[str] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ("if_idle",)
    IF_IDLE_FIELD_NUMBER: _ClassVar[int]
    if_idle: bool
    def __init__(self, if_idle: _Optional[bool] = ...) -> None: ...

class RotateDashboardTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RotateDashboardTokenResponse(_message.Message):
    __slots__ = ("dashboard_token_file", "sessions_ended")
    DASHBOARD_TOKEN_FILE_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_ENDED_FIELD_NUMBER: _ClassVar[int]
    dashboard_token_file: str
    sessions_ended: int
    def __init__(self, dashboard_token_file: _Optional[str] = ..., sessions_ended: _Optional[int] = ...) -> None: ...

class DashboardTicketRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DashboardTicketResponse(_message.Message):
    __slots__ = ("url", "full_access")
    URL_FIELD_NUMBER: _ClassVar[int]
    FULL_ACCESS_FIELD_NUMBER: _ClassVar[int]
    url: str
    full_access: bool
    def __init__(self, url: _Optional[str] = ..., full_access: _Optional[bool] = ...) -> None: ...

class ShutdownResponse(_message.Message):
    __slots__ = ("stopping", "runs_in_flight")
    STOPPING_FIELD_NUMBER: _ClassVar[int]
    RUNS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    stopping: bool
    runs_in_flight: int
    def __init__(self, stopping: _Optional[bool] = ..., runs_in_flight: _Optional[int] = ...) -> None: ...
