"""The trackd.v1 protocol: generated code is up to date, and the .proto files follow the rules
(one package, one service per <snake>_service.proto, <Rpc>Request/<Rpc>Response messages of
each rpc's own, enums whose zero value is *_UNSPECIFIED)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto" / "trackd" / "v1"
PROTOS = sorted(PROTO_DIR.glob("*.proto"))


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _module(proto: Path) -> ModuleType:
    return importlib.import_module(f"trackd.v1.{proto.stem}_pb2")


def _enums(file_desc: Any) -> list[Any]:
    """Every enum of a file descriptor, those nested in messages included."""
    out = list(file_desc.enum_types_by_name.values())
    for msg in file_desc.message_types_by_name.values():
        out += _enums_of_message(msg)
    return out


def _enums_of_message(msg: Any) -> list[Any]:
    out = list(msg.enum_types)
    for nested in msg.nested_types:
        out += _enums_of_message(nested)
    return out


def test_there_are_protos() -> None:
    assert len(PROTOS) >= 5
    assert {"value.proto", "record.proto", "run_service.proto"} <= {p.name for p in PROTOS}


def test_generated_code_is_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, "proto/generate.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("proto", PROTOS, ids=lambda p: p.name)
def test_package_is_trackd_v1(proto: Path) -> None:
    text = _strip_comments(proto.read_text())
    assert re.findall(r"^\s*package\s+([\w.]+)\s*;", text, flags=re.MULTILINE) == ["trackd.v1"]
    assert re.search(r'^\s*syntax\s*=\s*"proto3"\s*;', text, flags=re.MULTILINE)
    desc = _module(proto).DESCRIPTOR
    assert desc.package == "trackd.v1"
    assert desc.name == f"trackd/v1/{proto.name}"


@pytest.mark.parametrize("proto", PROTOS, ids=lambda p: p.name)
def test_each_service_has_its_own_snake_case_file(proto: Path) -> None:
    text = _strip_comments(proto.read_text())
    services = re.findall(r"^\s*service\s+(\w+)\s*\{", text, flags=re.MULTILINE)
    desc = _module(proto).DESCRIPTOR
    assert sorted(services) == sorted(desc.services_by_name)
    if proto.stem.endswith("_service"):
        assert len(services) == 1, f"{proto.name} must define exactly one service"
    else:
        assert services == [], f"{proto.name} defines a service outside a *_service.proto file"
    for name in services:
        assert name.endswith("Service")
        assert proto.name == f"{_snake(name)}.proto"


def test_every_rpc_has_its_own_request_and_response_messages() -> None:
    used: dict[str, str] = {}
    n_methods = 0
    for proto in PROTOS:
        desc = _module(proto).DESCRIPTOR
        for service in desc.services_by_name.values():
            for m in service.methods:
                n_methods += 1
                where = f"{service.name}.{m.name}"
                assert m.input_type.name == f"{m.name}Request", where
                assert m.output_type.name == f"{m.name}Response", where
                # Defined next to the service, at the top level of the file.
                assert m.input_type.file.name == desc.name, where
                assert m.output_type.file.name == desc.name, where
                assert m.input_type.containing_type is None, where
                assert m.output_type.containing_type is None, where
                for t in (m.input_type, m.output_type):
                    assert t.full_name not in used, f"{t.full_name} used by {used.get(t.full_name)}"
                    used[t.full_name] = where
    assert n_methods >= 5


def test_rpcs_in_the_text_match_the_descriptors() -> None:
    rpc = re.compile(r"^\s*rpc\s+(\w+)\s*\(\s*(?:stream\s+)?(\w+)\s*\)\s*returns\s*"
                     r"\(\s*(?:stream\s+)?(\w+)\s*\)", flags=re.MULTILINE)
    for proto in PROTOS:
        found = rpc.findall(_strip_comments(proto.read_text()))
        desc = _module(proto).DESCRIPTOR
        expected = [(m.name, m.input_type.name, m.output_type.name)
                    for s in desc.services_by_name.values() for m in s.methods]
        assert sorted(found) == sorted(expected), proto.name
        for name, req, resp in found:
            assert (req, resp) == (f"{name}Request", f"{name}Response")


def test_every_enum_zero_value_is_unspecified() -> None:
    seen = 0
    for proto in PROTOS:
        desc = _module(proto).DESCRIPTOR
        for enum in _enums(desc):
            seen += 1
            zero = enum.values_by_number.get(0)
            assert zero is not None, f"{enum.full_name} has no zero value"
            assert zero.name.endswith("_UNSPECIFIED"), f"{enum.full_name}: {zero.name}"
            assert enum.values[0].number == 0, f"{enum.full_name}: zero value is not first"
    assert seen >= 3


def test_every_enum_in_the_text_has_an_unspecified_zero() -> None:
    # The same rule read from the .proto text, so it holds before code is regenerated.
    for proto in PROTOS:
        text = _strip_comments(proto.read_text())
        for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^}]*)\}", text):
            zeros = re.findall(r"(\w+)\s*=\s*0\s*[;\[]", body)
            assert len(zeros) == 1 and zeros[0].endswith("_UNSPECIFIED"), f"{proto.name}: {name}"
