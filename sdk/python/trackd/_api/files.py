"""Reading a stored run's files through ``trackd.Api`` (W&B's ``run.files()``, ``run.file()``,
``File.download()`` and ``run.metadata``), and its console log."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import IO, Any

from trackd._base.terminal import visible
from trackd._shared.run_files import name_problem
from trackd._transport.setup import connect
from trackd.errors import RunFileNotFoundError, from_grpc

#: W&B's name of the environment file (``run.metadata``).
METADATA = "wandb-metadata.json"


class File:
    """A file of a stored run."""

    def __init__(self, run_ref: Any, pb: Any, timeout: float = 60.0) -> None:
        self._ref = run_ref
        self._timeout = timeout
        self.name: str = pb.name
        self.size: int = pb.latest.size
        #: Base64 MD5 of the latest version ("" for the console log, rendered on request).
        self.md5: str = pb.latest.md5
        self.updated_at: float = pb.latest.stored_at
        #: How many times the file was stored (each store is a version).
        self.versions: int = pb.versions
        self.history: list[dict[str, Any]] = [
            {"version": v.version, "size": v.size, "md5": v.md5, "stored_at": v.stored_at,
             "reason": v.reason} for v in pb.history]

    def __repr__(self) -> str:
        return visible(f"<File {self.name} ({self.size} bytes, {self.versions} version(s))>")

    def read_bytes(self, version: int = 0) -> bytes:
        """The file's bytes (its latest version, or ``version``)."""
        chunks: list[bytes] = []
        self._stream(version, chunks.append)
        return b"".join(chunks)

    def _stream(self, version: int, write: Any) -> None:
        import asyncio

        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import file_service_pb2 as pb

        conn = connect()
        req = pb.ReadFileRequest(run=self._ref, name=self.name, version=version)

        async def pump() -> list[bytes]:
            import grpc

            got: list[bytes] = []
            try:
                async for msg in conn.files.ReadFile(req, timeout=self._timeout * 10):
                    got.append(msg.chunk)
            except grpc.aio.AioRpcError as exc:
                raise from_grpc(exc) from None
            return got

        for chunk in asyncio.run_coroutine_threadsafe(pump(), conn.loop).result():
            write(chunk)

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False,
                 version: int = 0) -> IO[str]:
        """Write the file under ``root`` (its name's directories made) and return it open for
        reading (W&B's ``File.download``).

        :raises ValueError: the file exists there and neither ``replace`` nor ``exist_ok``
            was given, or its name would leave ``root``.
        """
        problem = name_problem(self.name)
        if problem:
            raise ValueError(f"refusing to download {self.name!r}: {problem}")
        base = os.path.realpath(root)
        path = os.path.realpath(os.path.join(base, self.name))
        if os.path.commonpath([base, path]) != base:
            raise ValueError(f"refusing to download {self.name!r}: it would be written outside "
                             f"{root!r}")
        if os.path.exists(path) and not replace:
            if exist_ok:
                return open(path)
            raise ValueError(f"File already exists, pass replace=True to overwrite or "
                             f"exist_ok=True to leave it as is and don't error: {path}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".trackd-")
        try:
            with os.fdopen(fd, "wb") as out:
                self._stream(version, out.write)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return open(path)

    def delete(self) -> None:
        """Delete the file from its run, every version of it (W&B's ``File.delete``). Its
        bytes are freed by the daemon's garbage collector once no other file or artifact
        holds them.

        :raises trackd.errors.FailedPreconditionError: the run is still running.
        :raises trackd.errors.RunFileNotFoundError: the file was deleted already.
        """
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import file_service_pb2 as pb

        conn = connect()
        conn.unary(conn.files.DeleteFiles, pb.DeleteFilesRequest(run=self._ref,
                                                                 names=[self.name]),
                   timeout=self._timeout)


class RunFileReads:
    """Mixed into :class:`trackd._api.api.PublicRun` (which has ``_pb`` and ``_timeout``)."""

    _pb: Any
    _timeout: float
    _metadata_cache: dict[str, Any] | None = None

    def files(self, names: Sequence[str] | None = None, per_page: int = 50) -> list[File]:
        """The run's files (only ``names`` when given), by name; the console log is
        ``output.log`` (``logs/output.NNNN.log`` parts for a long one)."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import file_service_pb2 as pb

        conn = connect()
        resp = conn.unary(conn.files.ListFiles, pb.ListFilesRequest(
            run=self._pb.ref, names=list(names or ()), versions=True), timeout=self._timeout)
        return [File(self._pb.ref, f, self._timeout) for f in resp.files]

    def file(self, name: str) -> File:
        """One file of the run.

        :raises trackd.errors.RunFileNotFoundError: the run has no such file.
        """
        found = self.files([name])
        if not found:
            ref = self._pb.ref
            raise RunFileNotFoundError(f"run {ref.entity}/{ref.project}/{ref.run_id} has no file "
                                       f"{name!r}", reason="RUN_FILE_NOT_FOUND", code="NOT_FOUND")
        return found[0]

    @property
    def metadata(self) -> dict[str, Any] | None:
        """What the run recorded about its environment (``wandb-metadata.json``: python, os,
        host, program, args, git, CPUs, GPUs...), or None when it recorded nothing."""
        if self._metadata_cache is None:
            found = self.files([METADATA])
            if not found:
                return None
            self._metadata_cache = json.loads(found[0].read_bytes() or b"{}")
        return self._metadata_cache

    def console(self, offset: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Lines of the console log in output order, each with its ``stream`` ("stdout" or
        "stderr"), ``timestamp`` and ``text``."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import file_service_pb2 as pb

        conn = connect()
        resp = conn.unary(conn.files.ReadConsole, pb.ReadConsoleRequest(
            run=self._pb.ref, offset=offset, limit=limit), timeout=self._timeout)
        return [{"stream": "stderr" if ln.stream == 2 else "stdout", "timestamp": ln.timestamp,
                 "text": ln.text} for ln in resp.lines]
