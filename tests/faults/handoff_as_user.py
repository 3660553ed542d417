"""Hand descriptors to a shared daemon as another user (for test_handoff.py).

    python handoff_as_user.py UID SOCKET JSON_CASES     (started as root)

Opens, as root, what each case names that the user could not open (a descriptor passed in
by a parent is the realistic form of that), then drops to ``UID`` and sends each case as one
request on the hand-over socket: ``{"files": [[how, path], ...], "extra_fds": n, "raw":
bytes-as-text}`` where ``how`` is ``read`` (opened O_RDONLY as the user), ``write`` (O_WRONLY
as the user), ``path`` (O_PATH as the user: possible for files it may not read) or ``dev``
(a character device). Prints one JSON line: each answer as a dict.
"""

from __future__ import annotations

import array
import json
import os
import socket
import sys
from typing import Any

from google.protobuf import json_format

from trackd.v1 import handoff_pb2 as pb

FLAGS = {"read": os.O_RDONLY, "write": os.O_WRONLY, "path": os.O_PATH, "dev": os.O_RDONLY}


def send(sock_path: str, case: dict[str, Any]) -> dict[str, Any]:
    fds = [os.open(path, FLAGS[how] | os.O_CLOEXEC) for how, path in case.get("files", [])]
    fds += [os.open("/dev/null", os.O_RDONLY) for _ in range(case.get("extra_fds", 0))]
    try:
        data = (case["raw"].encode() if "raw" in case else pb.HandOffRequest(files=[
            pb.HandOffFile(name=path) for _, path in case.get("files", [])]).SerializeToString())
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(30)
            s.connect(sock_path)
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            s.sendmsg([data], anc)
            answer = pb.HandOffResponse.FromString(s.recv(1 << 16))
    finally:
        for fd in fds:
            os.close(fd)
    return json_format.MessageToDict(answer, preserving_proto_field_name=True)


def hold(sock_path: str, n: int) -> list[dict[str, Any]]:
    """Open ``n`` connections and keep them; then one more request on the last."""
    held = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(30)
        s.connect(sock_path)
        held.append(s)
    held[-1].sendmsg([pb.HandOffRequest().SerializeToString()])
    out = [json_format.MessageToDict(pb.HandOffResponse.FromString(held[-1].recv(1 << 16)))]
    for s in held:
        s.close()
    return out


def main() -> None:
    uid, sock_path, cases = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    out = [hold(sock_path, c["hold"]) if "hold" in c else send(sock_path, c) for c in cases]
    print(json.dumps(out), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
