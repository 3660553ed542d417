"""Read runs back through the Python SDK's trackd.Api() for the Node tests, or log the same
calls with the Python SDK, and print JSON with every value tagged by its kind, so that ints,
floats (by their bit pattern: NaN, infinities and -0.0 included) and text compare exactly.

    python readback.py read ENTITY/PROJECT/RUN_ID...   (a JSON list, one object per run)
    python readback.py artifact ENTITY/PROJECT/NAME:ALIAS DIR  (downloads into DIR)
    python readback.py log SPECS_JSON   (a list of {"entity", "project", "id", "calls": [...]})
    python readback.py cert DIR   (a self-signed certificate and key for a TLS daemon)

A logged value {"table": {"columns", "data", "log_mode"}} is a trackd.Table; ``read`` also gives
each table-file value of the rows as trackd.Table.from_json reads it back. A logged value
{"image": {"pixels", "caption"}} is a trackd.Image of those uint8 pixels; ``read`` also gives
each image-file value's file as Pillow decodes it.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any


def tag(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": struct.pack(">d", v).hex()}
    if isinstance(v, dict):
        return {"map": {k: tag(x) for k, x in v.items()}}
    if isinstance(v, (list, tuple)):
        return [tag(x) for x in v]
    raise TypeError(type(v).__name__)


def untag(v: Any) -> Any:
    if isinstance(v, dict):
        if "table" in v:  # {"table": {"columns", "data" (tagged), "log_mode"}}
            import trackd

            t = v["table"]
            return trackd.Table(columns=t["columns"], data=untag(t["data"]),
                                log_mode=t.get("log_mode", "IMMUTABLE"))
        if "image" in v:  # {"image": {"pixels": H×W or H×W×C uint8 lists, "caption"}}
            import numpy as np

            import trackd

            return trackd.Image(np.array(v["image"]["pixels"], dtype=np.uint8),
                                caption=v["image"].get("caption"))
        if "int" in v:
            return int(v["int"])
        if "float" in v:
            return struct.unpack(">d", bytes.fromhex(v["float"]))[0]
        return {k: untag(x) for k, x in v["map"].items()}
    if isinstance(v, list):
        return [untag(x) for x in v]
    return v


def read(path: str) -> dict[str, Any]:
    import trackd

    api = trackd.Api()
    run = api.run(path)
    files = [{"name": f.name, "size": f.size, "bytes": f.read_bytes().hex()}
             for f in run.files()]
    history = [dict(r) for r in run.scan_history()]
    tables = {}  # each table-file value of the rows, as trackd.Table reads it back
    images = {}  # each image-file value's file, decoded by Pillow: mode, size, samples
    for r in history:
        for v in r.values():
            if isinstance(v, dict) and v.get("_type") == "table-file":
                t = trackd.Table.from_json(v, run)
                tables[v["path"]] = {"columns": t.columns, "data": tag(t.data)}
            if isinstance(v, dict) and v.get("_type") == "image-file":
                import io

                from PIL import Image as PILImage

                im = PILImage.open(io.BytesIO(run.file(v["path"]).read_bytes()))
                samples = [c for px in im.getdata()
                           for c in (px if isinstance(px, tuple) else (px,))]
                images[v["path"]] = {"mode": im.mode, "size": list(im.size), "samples": samples}
    return {
        "state": run.state,
        "exit_code": run.exit_code,
        "name": run.name,
        "tags": list(run.tags),
        "notes": run.notes,
        "group": run.group,
        "job_type": run.job_type,
        "config": tag(dict(run.config)),
        "summary": tag(dict(run.summary)),
        "metrics": [dict(m) for m in run.metrics],
        "history": [tag(r) for r in history],
        "tables": tables,
        "images": images,
        "alerts": [{k: a[k] for k in ("title", "text", "level", "suppressed")}
                   for a in api.alerts(path)],
        "files": files,
    }


def artifact(path: str, root: str) -> dict[str, Any]:
    import os

    import trackd

    art = trackd.Api().artifact(path)
    out = art.download(root)
    files = {}
    for dirpath, _, names in os.walk(out):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                files[os.path.relpath(full, out)] = f.read().decode()
    return {"name": art.name, "type": art.type, "version": art.version, "digest": art.digest,
            "aliases": sorted(art.aliases), "metadata": art.metadata, "files": files}


def log(spec: dict[str, Any]) -> str:
    import trackd

    run = trackd.init(entity=spec["entity"], project=spec["project"], id=spec["id"],
                      config=untag(spec.get("config", {"map": {}})),
                      settings=trackd.Settings(console="off", x_disable_stats=True,
                                               mode=spec.get("mode", "online"),
                                               x_primary=spec.get("primary"),
                                               x_label=spec.get("label")))
    for call in spec["calls"]:
        kw = {}
        if "step" in call:
            kw["step"] = call["step"]
        if "commit" in call:
            kw["commit"] = call["commit"]
        run.log(untag(call["data"]), **kw)
    if spec.get("finish", True):
        run.finish()
    return str(run.id)


def cert(directory: str) -> dict[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1 (a TLS daemon's) and its key."""
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    made = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    paths = {"cert": os.path.join(directory, "cert.pem"), "key": os.path.join(directory, "key.pem")}
    with open(paths["cert"], "wb") as f:
        f.write(made.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


if __name__ == "__main__":
    if sys.argv[1] == "cert":
        print(json.dumps(cert(sys.argv[2])))
    elif sys.argv[1] == "read":
        print(json.dumps([read(p) for p in sys.argv[2:]]))
    elif sys.argv[1] == "artifact":
        print(json.dumps(artifact(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps([log(spec) for spec in json.loads(sys.argv[2])]))
