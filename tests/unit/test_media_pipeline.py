"""The run's media encoder on its own (no daemon): W&B's file layout, the memory bound and
staging, waits at the staging bound, and a value that fails to encode."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from trackd._shared.values import normalize_row
from trackd.media.base import Media, MediaOut
from trackd.media.pipeline import Jobs, MediaEncoder, file_key


class Blob(Media):
    """A test data type: ``size`` bytes held, written as one ``.bin`` file when encoded."""

    _log_type: ClassVar[str] = "blob-file"
    _list_type: ClassVar[str | None] = "blobs"
    gate: ClassVar[threading.Event | None] = None

    def __init__(self, fill: int, size: int = 1000, fail: bool = False) -> None:
        self.data: Any = np.full(size, fill, dtype=np.uint8)
        self.fail = fail
        self.spilled_to: str | None = None

    def _raw_size(self) -> int:
        return int(self.data.nbytes)

    def _spill(self, directory: str) -> None:
        path = Path(directory) / f"{id(self)}.npy"
        np.save(path, self.data)
        self.data = np.load(path, mmap_mode="r")
        self.spilled_to = str(path)

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        if Blob.gate is not None:
            Blob.gate.wait(10)
        if self.fail:
            raise OSError("the encoder broke")
        return {"_type": self._log_type, **out.put("blobs", "bin", bytes(self.data))}

    @classmethod
    def _encode_list(cls, items: Any, out: MediaOut) -> Any:
        return {"_type": "blobs", "paths": [item._encode(out)["path"] for item in items]}


@pytest.fixture(autouse=True)
def _open_gate() -> Any:
    yield
    Blob.gate = None


def _encoder(tmp_path: Path, saved: list[Any], **kw: Any) -> MediaEncoder:
    files = tmp_path / "run" / "files"
    files.mkdir(parents=True)
    return MediaEncoder(files, saved.extend, **kw)


def test_files_are_named_and_saved_as_wandb_lays_them_out(tmp_path: Path) -> None:
    saved: list[Any] = []
    enc = _encoder(tmp_path, saved)
    jobs = Jobs()
    row = normalize_row({"train/sample": Blob(1), "group": [Blob(2), Blob(3)], "n": 1}, jobs)
    assert row["train/sample"] == {} and row["group"] == {}  # slots, filled by the encoder
    enc.submit(jobs, 7).result(10)
    one = row["train/sample"]
    assert one["path"].startswith("media/blobs/train/sample_7_") and one["path"].endswith(".bin")
    assert one["path"] == f"media/blobs/train/sample_7_{one['sha256'][:20]}.bin"
    assert one["size"] == 1000
    assert row["group"]["_type"] == "blobs" and len(row["group"]["paths"]) == 2
    names = [name for name, _, policy in saved]
    assert sorted(names) == sorted([one["path"], *row["group"]["paths"]])
    assert all(policy == "now" for _, _, policy in saved)
    for name, path, _ in saved:
        assert Path(path) == tmp_path / "run" / "files" / name and Path(path).stat().st_size == 1000
    assert enc.close(10)


def test_file_keys_cannot_leave_the_media_directory() -> None:
    assert file_key("a/b") == "a/b"
    assert file_key("../../etc") == "_/_/etc"
    assert file_key("/x//y") == "_/x/_/y"
    assert file_key("c:\\d") == "c__d"


def test_past_the_memory_bound_values_are_staged_then_encoded_and_the_stage_cleared(
        tmp_path: Path) -> None:
    saved: list[Any] = []
    enc = _encoder(tmp_path, saved, memory_bound=2500, staging_bound=10_000, workers=1)
    Blob.gate = threading.Event()  # the worker is stuck until the gate opens
    blobs = [Blob(i) for i in range(5)]
    futures = []
    for b in blobs:
        jobs = Jobs()
        normalize_row({"b": b}, jobs)
        futures.append(enc.submit(jobs, 0))
    # two in memory (the bound holds 2,500 bytes), three staged to files under the run's tmp/
    staged = [b for b in blobs if b.spilled_to is not None]
    assert len(staged) == 3
    assert all(Path(b.spilled_to).parent == tmp_path / "run" / "tmp" / "media" for b in staged)
    Blob.gate.set()
    for f in futures:
        f.result(10)
    assert len(saved) == 5
    assert {Path(p).read_bytes()[0] for _, p, _ in saved} == {0, 1, 2, 3, 4}
    assert enc.close(10)
    assert not (tmp_path / "run" / "tmp" / "media").exists()


def test_past_the_staging_bound_submit_waits_for_the_workers(tmp_path: Path) -> None:
    saved: list[Any] = []
    enc = _encoder(tmp_path, saved, memory_bound=1000, staging_bound=1000, workers=1)
    Blob.gate = threading.Event()
    for i in range(2):  # one in memory, one staged: both bounds are full
        jobs = Jobs()
        normalize_row({"b": Blob(i)}, jobs)
        enc.submit(jobs, i)
    waited = threading.Event()

    def third() -> None:
        jobs = Jobs()
        normalize_row({"b": Blob(9)}, jobs)
        enc.submit(jobs, 2)
        waited.set()

    t = threading.Thread(target=third)
    t.start()
    time.sleep(0.3)
    assert not waited.is_set()  # log() would wait here rather than grow
    Blob.gate.set()
    t.join(10)
    assert waited.is_set()
    assert enc.close(10) and len(saved) == 3


def test_a_value_that_fails_to_encode_leaves_an_error_and_the_rest_of_the_row(
        tmp_path: Path) -> None:
    saved: list[Any] = []
    warnings: list[str] = []
    files = tmp_path / "run" / "files"
    files.mkdir(parents=True)
    enc = MediaEncoder(files, saved.extend, warnings.append)
    jobs = Jobs()
    row = normalize_row({"bad": Blob(1, fail=True), "good": Blob(2), "x": 3}, jobs)
    enc.submit(jobs, 0).result(10)
    assert row["bad"] == {"_type": "blob-file", "error": "the encoder broke"}
    assert row["good"]["path"].startswith("media/blobs/good_0_") and row["x"] == 3
    assert enc.failures == 1 and "Blob logged under 'bad' at step 0" in warnings[0]
    assert [n for n, _, _ in saved] == [row["good"]["path"]]


def test_data_types_cannot_go_where_nothing_encodes_them() -> None:
    with pytest.raises(TypeError, match="can be logged with run.log"):
        normalize_row({"b": Blob(1)})
