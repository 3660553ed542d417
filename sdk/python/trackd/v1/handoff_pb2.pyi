from trackd.v1 import artifact_service_pb2 as _artifact_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HandOffRequest(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[HandOffFile]
    def __init__(self, files: _Optional[_Iterable[_Union[HandOffFile, _Mapping]]] = ...) -> None: ...

class HandOffFile(_message.Message):
    __slots__ = ("name", "md5")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    name: str
    md5: str
    def __init__(self, name: _Optional[str] = ..., md5: _Optional[str] = ...) -> None: ...

class HandOffResponse(_message.Message):
    __slots__ = ("results", "error")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[HandOffResult]
    error: str
    def __init__(self, results: _Optional[_Iterable[_Union[HandOffResult, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class HandOffResult(_message.Message):
    __slots__ = ("stored", "error")
    STORED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    stored: _artifact_service_pb2.UploadFileResponse
    error: str
    def __init__(self, stored: _Optional[_Union[_artifact_service_pb2.UploadFileResponse, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...
