"""Section 1.1 Artifact, continued: adding entries to a draft (files, directories, references)
and reading a logged version back (download, checkout, verify, entries)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import trackd
from tests.conformance.checks.artifact import log_alone, new_draft
from tests.conformance.registry import check
from trackd.errors import ArtifactFinalizedError, ArtifactNotLoggedError, ReferenceFailedError

# -- adding ------------------------------------------------------------------------------------


@check("Artifact.add_file", "Artifact.add_file.local_path", "Artifact.add_file.name",
       "Artifact.add_file.is_tmp", "Artifact.add_file.overwrite", "Artifact.add_file.policy",
       "Artifact.add_file.skip_cache")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-addfile")
    path = ctx.write("f.txt", "one")
    entry = art.add_file(path)
    assert entry.path == "f.txt"
    assert art.add_file(path, name="sub/g.txt").path == "sub/g.txt"
    tmp = art.add_file(path, name="t.txt", is_tmp=True)
    assert tmp.path != "t.txt" and tmp.path.endswith(".txt")
    with pytest.raises(ValueError):
        art.add_file(ctx.write("other.txt", "two"), name="f.txt")  # taken, other content
    art.add_file(ctx.write("other.txt", "two"), name="f.txt", overwrite=True)
    with pytest.raises(ValueError):
        art.add_file(path, name="p.txt", policy="sometimes")
    art.add_file(path, name="imm.txt", policy="immutable", skip_cache=True)
    got = log_alone(ctx, art)
    root = got.download(root=str(ctx.tmp / "dl"))
    assert Path(root, "f.txt").read_text() == "two" and Path(root, "imm.txt").read_text() == "one"
    with pytest.raises(ArtifactFinalizedError):
        got.add_file(path, name="late.txt")


@check("Artifact.add_dir", "Artifact.add_dir.local_path", "Artifact.add_dir.name",
       "Artifact.add_dir.merge", "Artifact.add_dir.policy", "Artifact.add_dir.skip_cache")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("dir/a.txt", "a")
    ctx.write("dir/sub/b.txt", "b")
    art = new_draft(ctx, "conf-adddir")
    art.add_dir(str(ctx.tmp / "dir"))
    assert sorted(art.manifest.entries) == ["a.txt", "sub/b.txt"]
    art.add_dir(str(ctx.tmp / "dir"), name="pre", policy="immutable", skip_cache=True)
    assert "pre/sub/b.txt" in art.manifest.entries
    ctx.write("dir/a.txt", "changed")
    with pytest.raises(ValueError):
        art.add_dir(str(ctx.tmp / "dir"))
    art.add_dir(str(ctx.tmp / "dir"), merge=True)
    with pytest.raises(ValueError):
        art.add_dir(str(ctx.tmp / "dir"), policy="sometimes")
    got = log_alone(ctx, art)
    assert Path(got.download(root=str(ctx.tmp / "dl")), "a.txt").read_text() == "changed"


@check("Artifact.add_reference", "Artifact.add_reference.uri", "Artifact.add_reference.name",
       "Artifact.add_reference.max_objects")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("refs/one.txt", "1")
    ctx.write("refs/two.txt", "22")
    art = new_draft(ctx, "conf-refs")
    entries = art.add_reference(f"file://{ctx.tmp / 'refs'}", name="r")
    assert sorted(e.path for e in entries) == ["r/one.txt", "r/two.txt"]
    assert sorted(e.size for e in entries) == [1, 2]
    with pytest.raises((ValueError, trackd.Error)):
        art.add_reference(f"file://{ctx.tmp / 'refs'}", name="capped", max_objects=1)
    other = art.add_reference("myscheme://bucket/key", name="other")
    assert other[0].size is None and other[0].ref == "myscheme://bucket/key"
    got = log_alone(ctx, art)
    assert sorted(got.manifest.entries) == ["other", "r/one.txt", "r/two.txt"]
    # An entry of another artifact.
    entry = ctx.artifact().get_entry("a.txt")
    art2 = new_draft(ctx, "conf-refs2")
    art2.add_reference(entry, name="copied.txt")
    got2 = log_alone(ctx, art2)
    root = got2.download(root=str(ctx.tmp / "dl2"))
    assert Path(root, "copied.txt").read_text() == "alpha"


@check("Artifact.add_reference.checksum")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("refdir/a.txt", "a")
    ctx.write("refdir/b.txt", "b")
    art = new_draft(ctx, "conf-nochecksum")
    entries = art.add_reference(f"file://{ctx.tmp / 'refdir'}", name="dir", checksum=False)
    assert [e.path for e in entries] == ["dir"]  # one reference, the directory not walked
    assert entries[0].ref == f"file://{ctx.tmp / 'refdir'}"
    checked = art.add_reference(f"file://{ctx.tmp / 'refdir' / 'a.txt'}", name="f")
    assert checked[0].size == 1 and checked[0].digest


@check("Artifact.add_reference")
def _(ctx):  # type: ignore[no-untyped-def]
    # gs:// and Azure Blob Storage URLs are references too (without checksum: no network).
    art = new_draft(ctx, "conf-cloud-refs")
    gs = art.add_reference("gs://conf-bucket/data/train.csv", checksum=False)
    az = art.add_reference("https://acct.blob.core.windows.net/cont/data/train.csv",
                           checksum=False)
    assert gs[0].ref == "gs://conf-bucket/data/train.csv"
    assert az[0].ref.startswith("https://acct.blob.core.windows.net/")


@check("Artifact.new_file", "Artifact.new_file.name", "Artifact.new_file.mode",
       "Artifact.new_file.encoding")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-newfile")
    with art.new_file("n/notes.txt", encoding="utf-8") as f:
        f.write("héllo")
    with pytest.raises(ValueError), art.new_file("n/notes.txt"):
        pass
    with art.new_file("n/notes.txt", mode="w") as f:
        f.write("again")
    got = log_alone(ctx, art)
    assert Path(got.download(root=str(ctx.tmp / "dl")), "n/notes.txt").read_text() == "again"


@check("Artifact.remove", "Artifact.remove.item")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-remove")
    art.add_file(ctx.write("r/a.txt"), name="r/a.txt")
    art.add_file(ctx.write("r/b.txt"), name="r/b.txt")
    e = art.add_file(ctx.write("c.txt"))
    art.remove(e)
    art.remove("r")
    assert art.manifest.entries == {}
    with pytest.raises(FileNotFoundError):
        art.remove("nothing")
    with pytest.raises(ArtifactFinalizedError):
        ctx.artifact().remove("a.txt")


# -- reading -----------------------------------------------------------------------------------


@check("Artifact.download", "Artifact.download.root", "Artifact.download.path_prefix",
       "Artifact.download.skip_cache", "Artifact.download.allow_missing_references")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    root = got.download(root=str(ctx.tmp / "all"))
    assert root == str(ctx.tmp / "all")
    assert Path(root, "d", "c.txt").read_text() == "gamma"
    some = got.download(root=str(ctx.tmp / "some"), path_prefix="d/", skip_cache=True)
    assert sorted(os.listdir(Path(some, "d"))) == ["b.txt", "c.txt"]
    assert not Path(some, "a.txt").exists()
    # Existing files in root are not modified.
    Path(ctx.tmp / "keep").mkdir()
    Path(ctx.tmp / "keep" / "mine.txt").write_text("mine")
    got.download(root=str(ctx.tmp / "keep"))
    assert Path(ctx.tmp / "keep" / "mine.txt").read_text() == "mine"
    # A reference that is gone: an error, unless allow_missing_references.
    gone = ctx.write("gone/x.txt", "x")
    art = new_draft(ctx, "conf-missing-ref")
    art.add_reference(f"file://{gone}")
    logged = log_alone(ctx, art)
    os.remove(gone)
    with pytest.raises(ReferenceFailedError, match="could not be downloaded"):
        logged.download(root=str(ctx.tmp / "m1"))
    logged.download(root=str(ctx.tmp / "m2"), allow_missing_references=True)
    with pytest.raises(ArtifactNotLoggedError):
        new_draft(ctx).download()


@check("Artifact.download.multipart")
def _(ctx):  # type: ignore[no-untyped-def]
    payload = bytes(range(256)) * 4096 * 9  # 9 MiB: several parts
    path = ctx.tmp / "big.bin"
    path.write_bytes(payload)
    art = new_draft(ctx, "conf-multipart")
    art.add_file(str(path))
    got = log_alone(ctx, art)
    for multipart in (True, False, None):
        root = got.download(root=str(ctx.tmp / f"dl-{multipart}"), skip_cache=True,
                            multipart=multipart)
        assert Path(root, "big.bin").read_bytes() == payload


@check("Artifact.checkout", "Artifact.checkout.root")
def _(ctx):  # type: ignore[no-untyped-def]
    target = ctx.tmp / "co"
    target.mkdir()
    (target / "stray.txt").write_text("s")
    path = ctx.artifact().checkout(root=str(target))
    assert sorted(p.relative_to(target).as_posix() for p in Path(path).rglob("*.txt")) == [
        "a.txt", "d/b.txt", "d/c.txt"]


@check("Artifact.verify", "Artifact.verify.root")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    root = got.download(root=str(ctx.tmp / "v"))
    got.verify(root=root)
    Path(root, "a.txt").write_text("tampered")
    with pytest.raises(ValueError):
        got.verify(root=root)


@check("Artifact.file", "Artifact.file.root")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-single")
    art.add_file(ctx.write("only.txt", "only"))
    got = log_alone(ctx, art)
    path = got.file(root=str(ctx.tmp / "one"))
    assert Path(path).read_text() == "only" and path == str(ctx.tmp / "one" / "only.txt")
    with pytest.raises(ValueError):
        ctx.artifact().file(root=str(ctx.tmp / "many"))


@check("Artifact.files", "Artifact.files.names", "Artifact.files.per_page")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert sorted(f.name for f in got.files(per_page=1)) == ["a.txt", "d/b.txt", "d/c.txt"]
    assert [f.name for f in got.files(names=["d/b.txt"])] == ["d/b.txt"]
    with pytest.raises(ArtifactNotLoggedError):
        new_draft(ctx).files()


@check("Artifact.get_entry", "Artifact.get_entry.name", "Artifact.get_path",
       "Artifact.get_path.name")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    entry = got.get_entry("d/b.txt")
    assert entry.path == "d/b.txt" and entry.size == 4
    assert Path(entry.download(root=str(ctx.tmp / "e"))).read_text() == "beta"
    with pytest.raises(KeyError):
        got.get_entry("nope")
    with pytest.warns(DeprecationWarning):
        assert got.get_path("a.txt").path == "a.txt"


@check("Artifact.get_added_local_path_name", "Artifact.get_added_local_path_name.local_path")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx)
    path = ctx.write("local.txt")
    art.add_file(path, name="in/art.txt")
    assert art.get_added_local_path_name(path) == "in/art.txt"
    assert art.get_added_local_path_name(str(ctx.tmp / "never.txt")) is None


# -- data types ----------------------------------------------------------------------------------


@check("Artifact.add", "Artifact.add.obj", "Artifact.add.name", "Artifact.add.overwrite",
       "Artifact.get", "Artifact.get.name")
def _(ctx):  # type: ignore[no-untyped-def]
    import numpy as np

    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    table = trackd.Table(columns=["id", "img"], data=[[1, trackd.Image(pixels)], [2, None]])
    art = new_draft(ctx, "conf-add-media")
    assert art.add(table, "samples").path == "samples.table.json"
    assert art.add(trackd.Image(pixels, caption="c"), "cat").path == "cat.image-file.json"
    assert art.add(trackd.Histogram([1, 2, 2, 3], num_bins=3), "h").path == "h.histogram.json"
    with pytest.raises(ValueError):
        art.add(trackd.Table(columns=["a"]), "samples")  # taken
    art.add(trackd.Table(columns=["id"], data=[[7]]), "samples", overwrite=True)
    with pytest.raises(TypeError):
        art.add({"not": "a data type"}, "d")
    assert any(p.startswith("media/images/") and p.endswith(".png") for p in art.manifest.entries)
    with pytest.raises(ArtifactNotLoggedError):
        art.get("cat")
    got = log_alone(ctx, art)
    samples = got.get("samples")
    assert isinstance(samples, trackd.Table) and samples.columns == ["id"]
    assert samples.data == [[7]]
    cat = got.get("cat")
    assert isinstance(cat, trackd.Image) and (cat.width, cat.height) == (6, 4)
    assert got.get("h").histogram == [1, 2, 1]
    assert got.get("cat.image-file.json").width == 6  # the entry's own path works too
    assert got.get("missing") is None
