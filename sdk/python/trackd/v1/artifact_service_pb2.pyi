from trackd.v1 import artifact_pb2 as _artifact_pb2
from trackd.v1 import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunArtifactsKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_ARTIFACTS_KIND_UNSPECIFIED: _ClassVar[RunArtifactsKind]
    RUN_ARTIFACTS_KIND_LOGGED: _ClassVar[RunArtifactsKind]
    RUN_ARTIFACTS_KIND_USED: _ClassVar[RunArtifactsKind]
RUN_ARTIFACTS_KIND_UNSPECIFIED: RunArtifactsKind
RUN_ARTIFACTS_KIND_LOGGED: RunArtifactsKind
RUN_ARTIFACTS_KIND_USED: RunArtifactsKind

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class LogArtifactRequest(_message.Message):
    __slots__ = ("entity", "project", "name", "type", "description", "metadata_json", "aliases", "tags", "ttl_seconds", "entries", "digest", "run", "history_step", "distributed_id", "finalize", "base_id", "incremental", "request_id", "internal")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    HISTORY_STEP_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTED_ID_FIELD_NUMBER: _ClassVar[int]
    FINALIZE_FIELD_NUMBER: _ClassVar[int]
    BASE_ID_FIELD_NUMBER: _ClassVar[int]
    INCREMENTAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    name: str
    type: str
    description: str
    metadata_json: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    ttl_seconds: int
    entries: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.ManifestEntry]
    digest: str
    run: _run_pb2.RunRef
    history_step: int
    distributed_id: str
    finalize: bool
    base_id: str
    incremental: bool
    request_id: str
    internal: bool
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., description: _Optional[str] = ..., metadata_json: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., ttl_seconds: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[_artifact_pb2.ManifestEntry, _Mapping]]] = ..., digest: _Optional[str] = ..., run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., history_step: _Optional[int] = ..., distributed_id: _Optional[str] = ..., finalize: _Optional[bool] = ..., base_id: _Optional[str] = ..., incremental: _Optional[bool] = ..., request_id: _Optional[str] = ..., internal: _Optional[bool] = ...) -> None: ...

class LogArtifactResponse(_message.Message):
    __slots__ = ("artifact", "deduplicated")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.Artifact
    deduplicated: bool
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ..., deduplicated: _Optional[bool] = ...) -> None: ...

class UploadFileHeader(_message.Message):
    __slots__ = ("size", "md5", "name")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    size: int
    md5: str
    name: str
    def __init__(self, size: _Optional[int] = ..., md5: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class UploadFileRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadFileHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadFileHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class PrepareStagedFilesRequest(_message.Message):
    __slots__ = ("local_paths",)
    LOCAL_PATHS_FIELD_NUMBER: _ClassVar[int]
    local_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, local_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class PrepareStagedFilesResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    def __init__(self, accepted: _Optional[int] = ...) -> None: ...

class UploadFileResponse(_message.Message):
    __slots__ = ("blob_key", "md5", "size", "new")
    BLOB_KEY_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_FIELD_NUMBER: _ClassVar[int]
    blob_key: str
    md5: str
    size: int
    new: bool
    def __init__(self, blob_key: _Optional[str] = ..., md5: _Optional[str] = ..., size: _Optional[int] = ..., new: _Optional[bool] = ...) -> None: ...

class WatchArtifactRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class WatchArtifactResponse(_message.Message):
    __slots__ = ("progress", "done", "artifact")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    progress: _artifact_pb2.ArtifactProgress
    done: bool
    artifact: _artifact_pb2.Artifact
    def __init__(self, progress: _Optional[_Union[_artifact_pb2.ArtifactProgress, _Mapping]] = ..., done: _Optional[bool] = ..., artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("id", "path", "entity", "project", "type")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    path: str
    entity: str
    project: str
    type: str
    def __init__(self, id: _Optional[str] = ..., path: _Optional[str] = ..., entity: _Optional[str] = ..., project: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.Artifact
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ...) -> None: ...

class GetManifestRequest(_message.Message):
    __slots__ = ("id", "path_prefix", "paths")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    id: str
    path_prefix: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., path_prefix: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ...) -> None: ...

class GetManifestResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.ManifestEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[_artifact_pb2.ManifestEntry, _Mapping]]] = ...) -> None: ...

class ListArtifactCollectionsRequest(_message.Message):
    __slots__ = ("entity", "project", "type")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    type: str
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class ListArtifactCollectionsResponse(_message.Message):
    __slots__ = ("collections",)
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.ArtifactCollection]
    def __init__(self, collections: _Optional[_Iterable[_Union[_artifact_pb2.ArtifactCollection, _Mapping]]] = ...) -> None: ...

class ListArtifactsRequest(_message.Message):
    __slots__ = ("entity", "project", "collection", "type", "limit")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    entity: str
    project: str
    collection: str
    type: str
    limit: int
    def __init__(self, entity: _Optional[str] = ..., project: _Optional[str] = ..., collection: _Optional[str] = ..., type: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[_artifact_pb2.Artifact, _Mapping]]] = ...) -> None: ...

class UpdateArtifactRequest(_message.Message):
    __slots__ = ("id", "link", "description", "metadata_json", "aliases", "tags", "ttl_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    link: _artifact_pb2.ArtifactSource
    description: str
    metadata_json: str
    aliases: StringList
    tags: StringList
    ttl_seconds: int
    def __init__(self, id: _Optional[str] = ..., link: _Optional[_Union[_artifact_pb2.ArtifactSource, _Mapping]] = ..., description: _Optional[str] = ..., metadata_json: _Optional[str] = ..., aliases: _Optional[_Union[StringList, _Mapping]] = ..., tags: _Optional[_Union[StringList, _Mapping]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class UpdateArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.Artifact
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ...) -> None: ...

class DeleteArtifactRequest(_message.Message):
    __slots__ = ("id", "delete_aliases", "link")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELETE_ALIASES_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    id: str
    delete_aliases: bool
    link: _artifact_pb2.ArtifactSource
    def __init__(self, id: _Optional[str] = ..., delete_aliases: _Optional[bool] = ..., link: _Optional[_Union[_artifact_pb2.ArtifactSource, _Mapping]] = ...) -> None: ...

class DeleteArtifactResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LinkArtifactRequest(_message.Message):
    __slots__ = ("id", "entity", "project", "portfolio", "aliases")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PORTFOLIO_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    id: str
    entity: str
    project: str
    portfolio: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., entity: _Optional[str] = ..., project: _Optional[str] = ..., portfolio: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class LinkArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.Artifact
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ...) -> None: ...

class UnlinkArtifactRequest(_message.Message):
    __slots__ = ("id", "link")
    ID_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    id: str
    link: _artifact_pb2.ArtifactSource
    def __init__(self, id: _Optional[str] = ..., link: _Optional[_Union[_artifact_pb2.ArtifactSource, _Mapping]] = ...) -> None: ...

class UnlinkArtifactResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UseArtifactRequest(_message.Message):
    __slots__ = ("id", "run", "use_as")
    ID_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    USE_AS_FIELD_NUMBER: _ClassVar[int]
    id: str
    run: _run_pb2.RunRef
    use_as: str
    def __init__(self, id: _Optional[str] = ..., run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., use_as: _Optional[str] = ...) -> None: ...

class UseArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.Artifact
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.Artifact, _Mapping]] = ...) -> None: ...

class GetArtifactLineageRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetArtifactLineageResponse(_message.Message):
    __slots__ = ("logged_by", "used_by")
    LOGGED_BY_FIELD_NUMBER: _ClassVar[int]
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    logged_by: _run_pb2.RunRef
    used_by: _containers.RepeatedCompositeFieldContainer[_run_pb2.RunRef]
    def __init__(self, logged_by: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., used_by: _Optional[_Iterable[_Union[_run_pb2.RunRef, _Mapping]]] = ...) -> None: ...

class ListRunArtifactsRequest(_message.Message):
    __slots__ = ("run", "kind")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.RunRef
    kind: RunArtifactsKind
    def __init__(self, run: _Optional[_Union[_run_pb2.RunRef, _Mapping]] = ..., kind: _Optional[_Union[RunArtifactsKind, str]] = ...) -> None: ...

class ListRunArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[_artifact_pb2.Artifact, _Mapping]]] = ...) -> None: ...

class ResolveReferenceRequest(_message.Message):
    __slots__ = ("uri", "name", "checksum", "max_objects", "http_proxy", "https_proxy")
    URI_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    MAX_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    HTTP_PROXY_FIELD_NUMBER: _ClassVar[int]
    HTTPS_PROXY_FIELD_NUMBER: _ClassVar[int]
    uri: str
    name: str
    checksum: bool
    max_objects: int
    http_proxy: str
    https_proxy: str
    def __init__(self, uri: _Optional[str] = ..., name: _Optional[str] = ..., checksum: _Optional[bool] = ..., max_objects: _Optional[int] = ..., http_proxy: _Optional[str] = ..., https_proxy: _Optional[str] = ...) -> None: ...

class ResolveReferenceResponse(_message.Message):
    __slots__ = ("entries", "warnings")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_artifact_pb2.ManifestEntry]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entries: _Optional[_Iterable[_Union[_artifact_pb2.ManifestEntry, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class ReadArtifactFileRequest(_message.Message):
    __slots__ = ("id", "path", "offset", "length")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    id: str
    path: str
    offset: int
    length: int
    def __init__(self, id: _Optional[str] = ..., path: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class ReadArtifactFileResponse(_message.Message):
    __slots__ = ("chunk", "size")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    size: int
    def __init__(self, chunk: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class LocateArtifactFilesRequest(_message.Message):
    __slots__ = ("id", "paths")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    id: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ...) -> None: ...

class ArtifactFileLocation(_message.Message):
    __slots__ = ("path", "blob_path", "size", "digest")
    PATH_FIELD_NUMBER: _ClassVar[int]
    BLOB_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    path: str
    blob_path: str
    size: int
    digest: str
    def __init__(self, path: _Optional[str] = ..., blob_path: _Optional[str] = ..., size: _Optional[int] = ..., digest: _Optional[str] = ...) -> None: ...

class LocateArtifactFilesResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFileLocation]
    def __init__(self, files: _Optional[_Iterable[_Union[ArtifactFileLocation, _Mapping]]] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ("dry_run",)
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    def __init__(self, dry_run: _Optional[bool] = ...) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ("versions_expired", "blobs_freed", "bytes_freed")
    VERSIONS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FREED_FIELD_NUMBER: _ClassVar[int]
    BYTES_FREED_FIELD_NUMBER: _ClassVar[int]
    versions_expired: int
    blobs_freed: int
    bytes_freed: int
    def __init__(self, versions_expired: _Optional[int] = ..., blobs_freed: _Optional[int] = ..., bytes_freed: _Optional[int] = ...) -> None: ...
