"""Files handed over open (``proto/trackd/v1/handoff.proto``): another user of a shared daemon
gives it descriptors (SCM_RIGHTS over a SOCK_SEQPACKET socket beside the shared socket)
instead of streaming the bytes through UploadFile; the daemon stores each file as UploadFile
does, recorded as uploaded by the connection's uid (SO_PEERCRED).

The daemon opens nothing by name here (``local_paths.py``): a descriptor gives only what its
sender could read, and one not open for reading, or not a regular file (a FIFO, a device, a
socket, a directory), is refused before a byte is read. Every descriptor received is closed
once its request is answered, whatever happens.

Bounds: a request is at most ``MAX_REQUEST_BYTES`` with ``MAX_FILES`` descriptors; at most
``MAX_CONNECTIONS`` connections are served at once, ``PER_USER`` of them per uid (one user
cannot take every slot), and a connection that sends nothing for ``IDLE_SECONDS`` is closed;
``IO_THREADS`` files are read at once.
"""

from __future__ import annotations

import array
import ctypes
import fcntl
import logging
import os
import socket
import stat
from collections import Counter
from pathlib import Path

import anyio
import anyio.to_thread
from google.protobuf.message import DecodeError

from trackd.v1 import artifact_service_pb2 as apb
from trackd.v1 import handoff_pb2 as pb
from trackd_daemon.blobs import BlobInfo, BlobStore
from trackd_daemon.rpc.peer_proxy import peer_credentials
from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.base import MetadataStore

log = logging.getLogger("trackd.daemon.handoff")

#: Largest request message: 64 files' names (paths) and MD5s fit many times over.
MAX_REQUEST_BYTES = 64 << 10
#: Descriptors per request (the kernel allows 253 per message; 64 keeps what one request
#: holds open small).
MAX_FILES = 64
#: Connections served at once (each holds a socket and, while served, its descriptors);
#: further ones wait in the listen backlog.
MAX_CONNECTIONS = 64
#: Connections one uid may hold at once: the SDK uses one per upload thread (a few), and one
#: user holding every slot would stop everyone else's hand-overs.
PER_USER = 16
#: A connection with no request for this long is closed (its slot is someone else's).
IDLE_SECONDS = 60.0
#: Files read and stored at once (each a worker thread copying and hashing), and at once for
#: one user: a user handing over many large files leaves the other threads to everyone else.
IO_THREADS = 4
PER_USER_IO = 2
#: statfs's f_type of FUSE: a file system its mounting user serves, so a read of it can block
#: for as long as that user likes.
FUSE_SUPER_MAGIC = 0x65735546


class HandOffServer:
    """Listens on ``path`` (created with ``mode``, as the shared socket) and stores what is
    handed over. :meth:`serve` runs until cancelled."""

    def __init__(self, path: Path, mode: int, store: MetadataStore, blobs: BlobStore) -> None:
        self.path = path
        self._mode = mode
        self._store = store
        self._blobs = blobs
        self._slots = anyio.Semaphore(MAX_CONNECTIONS)
        self._io = anyio.CapacityLimiter(IO_THREADS)
        self._per_user: Counter[int] = Counter()
        #: Each connected user's share of the reading threads.
        self._io_of: dict[int, anyio.CapacityLimiter] = {}

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
                    ) -> None:
        listener = self._bind()
        try:
            task_status.started()
            async with anyio.create_task_group() as tg:
                while True:
                    await self._slots.acquire()
                    try:
                        conn = await self._accept(listener)
                    except BaseException:
                        self._slots.release()
                        raise
                    tg.start_soon(self._connection, conn)
        finally:
            listener.close()
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def _bind(self) -> socket.socket:
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()  # stale: the daemon holds the lock, so no other one owns it
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, self._mode)
        sock.listen(MAX_CONNECTIONS)
        sock.setblocking(False)
        return sock

    @staticmethod
    async def _accept(listener: socket.socket) -> socket.socket:
        while True:
            await anyio.wait_readable(listener)
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(False)
            return conn

    async def _connection(self, conn: socket.socket) -> None:
        uid = -1
        try:
            _, uid, _ = peer_credentials(conn)
            self._per_user[uid] += 1
            if self._per_user[uid] > PER_USER:
                await self._send(conn, pb.HandOffResponse(
                    error=f"uid {uid} holds {PER_USER} hand-over connections already"))
                return
            while True:
                with anyio.move_on_after(IDLE_SECONDS) as idle:
                    await anyio.wait_readable(conn)
                if idle.cancelled_caught:
                    return
                got = self._receive(conn)
                if got is None:
                    return  # the client closed the connection
                data, fds, problem = got
                try:
                    resp = (pb.HandOffResponse(error=problem) if problem
                            else await self._handle(data, fds, uid))
                finally:
                    for fd in fds:
                        os.close(fd)
                await self._send(conn, resp)
        except OSError as exc:
            log.info("a hand-over connection (uid %d) ended: %s", uid, exc)
        finally:
            if uid >= 0:
                self._per_user[uid] -= 1
                if not self._per_user[uid]:
                    del self._per_user[uid]
                    self._io_of.pop(uid, None)
            conn.close()
            self._slots.release()

    @staticmethod
    def _receive(conn: socket.socket) -> tuple[bytes, list[int], str] | None:
        """One request: its bytes, the descriptors that came with it (all of them, to be
        closed) and what is wrong with it ("" when nothing); None at the end of the
        connection."""
        while True:
            try:
                data, ancdata, flags, _ = conn.recvmsg(
                    MAX_REQUEST_BYTES, socket.CMSG_SPACE(MAX_FILES * array.array("i").itemsize),
                    socket.MSG_CMSG_CLOEXEC)  # never inherited by a process the daemon starts
                break
            except InterruptedError:
                continue
        fds: list[int] = []
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                got = array.array("i")
                got.frombytes(payload[:len(payload) - len(payload) % got.itemsize])
                fds.extend(got)
        if not data and not fds:
            return None
        problem = ""
        if flags & socket.MSG_CTRUNC:
            problem = f"more than {MAX_FILES} descriptors in one request"
        elif flags & socket.MSG_TRUNC:
            problem = f"the request is larger than {MAX_REQUEST_BYTES} bytes"
        return data, fds, problem

    async def _handle(self, data: bytes, fds: list[int], uid: int) -> pb.HandOffResponse:
        try:
            request = pb.HandOffRequest.FromString(data)
        except DecodeError:
            return pb.HandOffResponse(error="the request is not a HandOffRequest")
        if len(request.files) != len(fds):
            return pb.HandOffResponse(error=f"{len(request.files)} files named but {len(fds)} "
                                            "descriptors sent")
        results = [pb.HandOffResult()] * len(fds)

        mine = self._io_of.setdefault(uid, anyio.CapacityLimiter(PER_USER_IO))

        async def one(i: int) -> None:
            name = request.files[i].name or f"file {i}"
            try:
                async with mine:  # this user's share of the threads first
                    info = await anyio.to_thread.run_sync(self._ingest, fds[i],
                                                          limiter=self._io)
            except _Refused as exc:
                results[i] = pb.HandOffResult(error=f"{name}: {exc}")
                return
            except OSError as exc:
                results[i] = pb.HandOffResult(error=f"{name}: cannot be stored: "
                                                    f"{exc.strerror or exc}")
                return
            if request.files[i].md5 and request.files[i].md5 != info.md5:
                results[i] = pb.HandOffResult(
                    error=f"{name}: its MD5 is {info.md5}, not {request.files[i].md5}")
                return
            await self._store.put_blob(BlobRecord(info.key, info.md5, info.size),
                                       uploader_uid=uid)
            results[i] = pb.HandOffResult(stored=apb.UploadFileResponse(
                blob_key=info.key, md5=info.md5, size=info.size, new=info.new))

        async with anyio.create_task_group() as tg:
            for i in range(len(fds)):
                tg.start_soon(one, i)
        return pb.HandOffResponse(results=results)

    def _ingest(self, fd: int) -> BlobInfo:
        """Store the file open as ``fd`` (blocking: a worker thread).

        :raises _Refused: not a regular file, or not open for reading.
        """
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Refused("not a regular file")
        if file_system_type(fd) == FUSE_SUPER_MAGIC:
            raise _Refused("on a FUSE file system, whose reads its owner may stall for as long "
                           "as they wish; upload its bytes instead")
        if fcntl.fcntl(fd, fcntl.F_GETFL) & (os.O_ACCMODE | os.O_PATH) not in (os.O_RDONLY,
                                                                                 os.O_RDWR):
            raise _Refused("not open for reading")
        return self._blobs.ingest(fd)

    @staticmethod
    async def _send(conn: socket.socket, resp: pb.HandOffResponse) -> None:
        data = resp.SerializeToString()
        while True:
            await anyio.wait_writable(conn)
            try:
                conn.send(data)
                return
            except (BlockingIOError, InterruptedError):
                continue


def file_system_type(fd: int) -> int:
    """statfs's ``f_type`` of the file system ``fd`` lies on (Linux; 0 when unknown). Python's
    ``os.fstatvfs`` leaves the type out."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if _libc.fstatfs(fd, buf) != 0:
        return 0
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF  # f_type: the first field


_libc = ctypes.CDLL(None, use_errno=True)


class _Refused(Exception):
    """A descriptor the daemon does not read; the message says why."""
