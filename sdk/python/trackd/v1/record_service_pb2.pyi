from trackd.v1 import record_pb2 as _record_pb2
from trackd.v1 import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamRecordsRequest(_message.Message):
    __slots__ = ("run", "records", "writer")
    RUN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    WRITER_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    records: _containers.RepeatedCompositeFieldContainer[_record_pb2.Record]
    writer: str
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., records: _Optional[_Iterable[_Union[_record_pb2.Record, _Mapping]]] = ..., writer: _Optional[str] = ...) -> None: ...

class StreamRecordsResponse(_message.Message):
    __slots__ = ("acked_seq", "stop_requested")
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    STOP_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    acked_seq: int
    stop_requested: bool
    def __init__(self, acked_seq: _Optional[int] = ..., stop_requested: _Optional[bool] = ...) -> None: ...
