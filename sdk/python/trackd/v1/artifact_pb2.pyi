from trackd.v1 import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_STATE_UNSPECIFIED: _ClassVar[ArtifactState]
    ARTIFACT_STATE_PENDING: _ClassVar[ArtifactState]
    ARTIFACT_STATE_COMMITTED: _ClassVar[ArtifactState]
    ARTIFACT_STATE_DELETED: _ClassVar[ArtifactState]
ARTIFACT_STATE_UNSPECIFIED: ArtifactState
ARTIFACT_STATE_PENDING: ArtifactState
ARTIFACT_STATE_COMMITTED: ArtifactState
ARTIFACT_STATE_DELETED: ArtifactState

class ManifestEntry(_message.Message):
    __slots__ = ("path", "digest", "size", "ref", "birth_artifact_id", "extra_json", "local_path", "blob_key", "staged")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    BIRTH_ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    LOCAL_PATH_FIELD_NUMBER: _ClassVar[int]
    BLOB_KEY_FIELD_NUMBER: _ClassVar[int]
    STAGED_FIELD_NUMBER: _ClassVar[int]
    path: str
    digest: str
    size: int
    ref: str
    birth_artifact_id: str
    extra_json: str
    local_path: str
    blob_key: str
    staged: bool
    def __init__(self, path: _Optional[str] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ..., ref: _Optional[str] = ..., birth_artifact_id: _Optional[str] = ..., extra_json: _Optional[str] = ..., local_path: _Optional[str] = ..., blob_key: _Optional[str] = ..., staged: _Optional[bool] = ...) -> None: ...

class ArtifactSource(_message.Message):
    __slots__ = ("entity", "project", "collection", "version")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    collection: str
    version: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., collection: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("id", "entity", "project", "collection", "type", "version_index", "version", "digest", "state", "description", "metadata_json", "aliases", "tags", "ttl_seconds", "expires_at", "created_at", "updated_at", "size", "file_count", "commit_hash", "logged_by", "history_step", "distributed_id", "base_id", "incremental", "is_link", "source", "linked_artifacts", "owner_uid", "is_portfolio")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_INDEX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_HASH_FIELD_NUMBER: _ClassVar[int]
    LOGGED_BY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_STEP_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTED_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_ID_FIELD_NUMBER: _ClassVar[int]
    INCREMENTAL_FIELD_NUMBER: _ClassVar[int]
    IS_LINK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LINKED_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    OWNER_UID_FIELD_NUMBER: _ClassVar[int]
    IS_PORTFOLIO_FIELD_NUMBER: _ClassVar[int]
    id: str
    entity: str
    project: str
    collection: str
    type: str
    version_index: int
    version: str
    digest: str
    state: ArtifactState
    description: str
    metadata_json: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    ttl_seconds: int
    expires_at: float
    created_at: float
    updated_at: float
    size: int
    file_count: int
    commit_hash: str
    logged_by: _run_pb2.RunRef
    history_step: int
    distributed_id: str
    base_id: str
    incremental: bool
    is_link: bool
    source: ArtifactSource
    linked_artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    owner_uid: int
    is_portfolio: bool
    def __init__(self, id: _Optional[str] = ..., entity: _Optional[str] = ..., project: _Optional[str] = ..., collection: _Optional[str] = ..., type: _Optional[str] = ..., version_index: _Optional[int] = ..., version: _Optional[str] = ..., digest: _Optional[str] = ..., state: _Optional[_Union[ArtifactState, str]] = ..., description: _Optional[str] = ..., metadata_json: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., ttl_seconds: _Optional[int] = ..., expires_at: _Optional[float] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., size: _Optional[int] = ..., file_count: _Optional[int] = ..., commit_hash: _Optional[str] = ..., logged_by: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., history_step: _Optional[int] = ..., distributed_id: _Optional[str] = ..., base_id: _Optional[str] = ..., incremental: _Optional[bool] = ..., is_link: _Optional[bool] = ..., source: _Optional[_Union[ArtifactSource, _Mapping]] = ..., linked_artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., owner_uid: _Optional[int] = ..., is_portfolio: _Optional[bool] = ...) -> None: ...

class ArtifactCollection(_message.Message):
    __slots__ = ("entity", "project", "name", "type", "is_portfolio", "version_count", "created_at", "updated_at", "aliases")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_PORTFOLIO_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    name: str
    type: str
    is_portfolio: bool
    version_count: int
    created_at: float
    updated_at: float
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., is_portfolio: _Optional[bool] = ..., version_count: _Optional[int] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class ArtifactProgress(_message.Message):
    __slots__ = ("id", "state", "files_done", "files_total", "bytes_done", "bytes_total", "bytes_new")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FILES_DONE_FIELD_NUMBER: _ClassVar[int]
    FILES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_NEW_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: ArtifactState
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    bytes_new: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[ArtifactState, str]] = ..., files_done: _Optional[int] = ..., files_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., bytes_new: _Optional[int] = ...) -> None: ...
