"""Generate the Python wire code for ``trackd.v1`` from ``proto/trackd/v1/*.proto``.

Usage::

    python proto/generate.py          # rewrite sdk/python/trackd/v1
    python proto/generate.py --check  # exit 1 when the committed code differs (CI)

The proto root is ``proto/`` so the generated imports (``from trackd.v1 import ...``) are already
the Python package path: no rewriting of imports is needed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_ROOT = HERE.parent / "sdk" / "python"
PACKAGE = Path("trackd") / "v1"

INIT = '''"""Generated wire types of the trackd.v1 protocol. Do not edit: run proto/generate.py."""
'''


def generate(out_root: Path) -> None:
    """Run protoc for every .proto under proto/trackd/v1 into ``out_root``."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(HERE)) for p in (HERE / PACKAGE).glob("*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    # Messages and service descriptors only: clients and the daemon build their gRPC method
    # handlers from the descriptors (trackd._transport.connection.make_stub, trackd_daemon.rpc.server).
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (out_root / PACKAGE / "__init__.py").write_text(INIT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    if not args.check:
        target = OUT_ROOT / PACKAGE
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        generate(OUT_ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / PACKAGE).mkdir(parents=True)
        generate(Path(tmp))
        fresh, committed = Path(tmp) / PACKAGE, OUT_ROOT / PACKAGE
        names = sorted({p.name for p in fresh.iterdir()} | {p.name for p in committed.glob("*.py*")})
        stale = [
            n for n in names
            if not (fresh / n).exists() or not (committed / n).exists()
            or not filecmp.cmp(fresh / n, committed / n, shallow=False)
        ]
        if stale:
            print("generated code is stale; run: python proto/generate.py", file=sys.stderr)
            for n in stale:
                print(f"  {PACKAGE / n}", file=sys.stderr)
            return 1
    print("generated code is fresh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
