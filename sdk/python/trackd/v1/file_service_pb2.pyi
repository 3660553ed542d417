from trackd.v1 import record_pb2 as _record_pb2
from trackd.v1 import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FilePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_POLICY_UNSPECIFIED: _ClassVar[FilePolicy]
    FILE_POLICY_NOW: _ClassVar[FilePolicy]
    FILE_POLICY_LIVE: _ClassVar[FilePolicy]
    FILE_POLICY_END: _ClassVar[FilePolicy]
FILE_POLICY_UNSPECIFIED: FilePolicy
FILE_POLICY_NOW: FilePolicy
FILE_POLICY_LIVE: FilePolicy
FILE_POLICY_END: FilePolicy

class SaveFile(_message.Message):
    __slots__ = ("name", "path", "blob_key", "policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BLOB_KEY_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    blob_key: str
    policy: FilePolicy
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., blob_key: _Optional[str] = ..., policy: _Optional[_Union[FilePolicy, str]] = ...) -> None: ...

class SaveFilesRequest(_message.Message):
    __slots__ = ("run", "files")
    RUN_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    files: _containers.RepeatedCompositeFieldContainer[SaveFile]
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., files: _Optional[_Iterable[_Union[SaveFile, _Mapping]]] = ...) -> None: ...

class SaveFileResult(_message.Message):
    __slots__ = ("name", "version", "unreadable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UNREADABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    unreadable: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., unreadable: _Optional[bool] = ...) -> None: ...

class SaveFilesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SaveFileResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SaveFileResult, _Mapping]]] = ...) -> None: ...

class FileVersion(_message.Message):
    __slots__ = ("version", "size", "md5", "blob_key", "stored_at", "reason")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    BLOB_KEY_FIELD_NUMBER: _ClassVar[int]
    STORED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    version: int
    size: int
    md5: str
    blob_key: str
    stored_at: float
    reason: str
    def __init__(self, version: _Optional[int] = ..., size: _Optional[int] = ..., md5: _Optional[str] = ..., blob_key: _Optional[str] = ..., stored_at: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class RunFile(_message.Message):
    __slots__ = ("name", "latest", "versions", "history")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    name: str
    latest: FileVersion
    versions: int
    history: _containers.RepeatedCompositeFieldContainer[FileVersion]
    def __init__(self, name: _Optional[str] = ..., latest: _Optional[_Union[FileVersion, _Mapping]] = ..., versions: _Optional[int] = ..., history: _Optional[_Iterable[_Union[FileVersion, _Mapping]]] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("run", "names", "versions")
    RUN_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    names: _containers.RepeatedScalarFieldContainer[str]
    versions: bool
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., names: _Optional[_Iterable[str]] = ..., versions: _Optional[bool] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[RunFile]
    def __init__(self, files: _Optional[_Iterable[_Union[RunFile, _Mapping]]] = ...) -> None: ...

class ReadFileRequest(_message.Message):
    __slots__ = ("run", "name", "version")
    RUN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    name: str
    version: int
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ReadFileResponse(_message.Message):
    __slots__ = ("chunk", "size")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    size: int
    def __init__(self, chunk: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class ReadConsoleRequest(_message.Message):
    __slots__ = ("run", "offset", "limit")
    RUN_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    offset: int
    limit: int
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ReadConsoleResponse(_message.Message):
    __slots__ = ("lines", "total")
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[_record_pb2.ConsoleLine]
    total: int
    def __init__(self, lines: _Optional[_Iterable[_Union[_record_pb2.ConsoleLine, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class DeleteFilesRequest(_message.Message):
    __slots__ = ("run", "names")
    RUN_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteFilesResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: int
    def __init__(self, versions: _Optional[int] = ...) -> None: ...
