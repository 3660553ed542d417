"""A raw gRPC client for tests that bypass the SDK."""

from __future__ import annotations

from typing import Any

import grpc

from trackd._shared.values import fill_map
from trackd.v1 import record_pb2, record_service_pb2, run_pb2


def raw_stub(daemon: Any) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
    stub = channel.stream_stream(
        "/trackd.v1.RecordService/StreamRecords",
        request_serializer=None,
        response_deserializer=record_service_pb2.StreamRecordsResponse.FromString,
    )
    return channel, stub


def record_batch(ref: dict[str, str] | None, first_seq: int, n: int) -> bytes:
    """``n`` history records {"v": seq - 1} starting at ``first_seq``."""
    req = record_service_pb2.StreamRecordsRequest()
    if ref:
        req.run.CopyFrom(run_pb2.RunRef(**ref))
    for seq in range(first_seq, first_seq + n):
        rec = req.records.add(seq=seq)
        rec.history.data.SetInParent()
        fill_map(rec.history.data, {"v": seq - 1})
        rec.history.timestamp = 1.0
    return req.SerializeToString()


def unknown_kind_record(ref: dict[str, str], seq: int) -> bytes:
    """A record whose kind is a field number the daemon does not know."""
    rec = record_pb2.Record(seq=seq).SerializeToString()
    tag = (99 << 3) | 2  # field 99, length-delimited; as a varint
    unknown = bytes([(tag & 0x7F) | 0x80, tag >> 7, 0])
    req = record_service_pb2.StreamRecordsRequest(run=run_pb2.RunRef(**ref))
    body = req.SerializeToString()
    record_bytes = rec + unknown
    return body + bytes([(2 << 3) | 2, len(record_bytes)]) + record_bytes


def create_run(channel: grpc.Channel, ref: dict[str, str]) -> Any:
    from trackd._transport.connection import make_stub
    from trackd.v1 import run_service_pb2

    stub = make_stub(channel, run_service_pb2, "RunService")
    return stub.CreateRun(run_service_pb2.CreateRunRequest(ref=run_pb2.RunRef(**ref), start_time=0.5))
