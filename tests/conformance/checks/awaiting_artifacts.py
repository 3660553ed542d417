"""Checks of artifact elements being built on the ``artifacts`` branch of issue 15:
``add_reference(checksum=False)`` on a directory, ``gs://`` and Azure Blob Storage references,
and ``download(multipart=...)``. They fail until that branch is merged."""

from __future__ import annotations

from pathlib import Path

import trackd
from tests.conformance.registry import check

BRANCH = "artifacts"


@check("Artifact.add_reference.checksum", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("refdir/a.txt", "a")
    ctx.write("refdir/b.txt", "b")
    art = trackd.Artifact("conf-nochecksum", "dataset")
    entries = art.add_reference(f"file://{ctx.tmp / 'refdir'}", name="dir", checksum=False)
    assert [e.path for e in entries] == ["dir"]  # one reference, the directory not walked
    assert entries[0].ref == f"file://{ctx.tmp / 'refdir'}"
    checked = art.add_reference(f"file://{ctx.tmp / 'refdir' / 'a.txt'}", name="f")
    assert checked[0].size == 1 and checked[0].digest


@check("Artifact.add_reference", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    art = trackd.Artifact("conf-cloud-refs", "dataset")
    gs = art.add_reference("gs://conf-bucket/data/train.csv", checksum=False)
    az = art.add_reference("https://acct.blob.core.windows.net/cont/data/train.csv",
                           checksum=False)
    assert gs[0].ref == "gs://conf-bucket/data/train.csv"
    assert az[0].ref.startswith("https://acct.blob.core.windows.net/")


@check("Artifact.download.multipart", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    payload = bytes(range(256)) * 4096 * 9  # 9 MiB: several parts
    path = ctx.tmp / "big.bin"
    path.write_bytes(payload)
    art = trackd.Artifact("conf-multipart", "dataset")
    art.add_file(str(path))
    with ctx.init() as run:
        run.log_artifact(art).wait()
    got = trackd.Api().artifact(f"{ctx.project}/conf-multipart:latest")
    for multipart in (True, False, None):
        root = got.download(root=str(ctx.tmp / f"dl-{multipart}"), skip_cache=True,
                            multipart=multipart)
        assert Path(root, "big.bin").read_bytes() == payload
