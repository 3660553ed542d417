"""Handing a file to the daemon open (``proto/trackd/v1/handoff.proto``).

A daemon on this machine that does not open this user's paths (a shared, system-wide one)
takes the file itself: this process opens it and sends the descriptor over the daemon's
hand-over socket (SCM_RIGHTS); the daemon reads it, without the bytes passing through gRPC.
Several times faster than streaming them with UploadFile; ``artifact_client.upload_file``
streams whenever a hand-over fails.
"""

from __future__ import annotations

import array
import os
import socket
import stat

from trackd.v1 import artifact_service_pb2 as apb
from trackd.v1 import handoff_pb2 as pb

#: Largest answer read (one result per file: a few hundred bytes each).
MAX_RESPONSE_BYTES = 64 << 10
#: Seconds to wait for the daemon's answer, plus one per this many bytes of the file (it
#: answers once the file is stored; slow disks are slower than this).
BASE_TIMEOUT = 60.0
BYTES_PER_SECOND = 20 << 20


class HandOffFailed(Exception):
    """The daemon did not take the file open; the message says why (the bytes are streamed
    instead)."""


def hand_over(socket_path: str, path: str, md5: str = "") -> apb.UploadFileResponse:
    """Store the file at ``path`` in the daemon's blob store by handing it over open.

    :raises HandOffFailed: the daemon refused it, or its answer was not usable.
    :raises OSError: the file cannot be opened, or the socket cannot be reached.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise HandOffFailed(f"{path} is not a regular file")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC) as s:
            s.settimeout(BASE_TIMEOUT + st.st_size / BYTES_PER_SECOND)
            s.connect(socket_path)
            request = pb.HandOffRequest(files=[pb.HandOffFile(name=path, md5=md5)])
            s.sendmsg([request.SerializeToString()],
                       [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
            data = s.recv(MAX_RESPONSE_BYTES)
    finally:
        os.close(fd)
    try:
        resp = pb.HandOffResponse.FromString(data)
    except Exception as exc:  # noqa: BLE001 - a DecodeError or a short read: not usable
        raise HandOffFailed(f"the daemon's answer could not be read: {exc}") from None
    if resp.error or len(resp.results) != 1:
        raise HandOffFailed(resp.error or "the daemon's answer has no result")
    result = resp.results[0]
    if result.WhichOneof("outcome") != "stored":
        raise HandOffFailed(result.error or "the daemon stored nothing")
    return result.stored
