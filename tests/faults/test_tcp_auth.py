"""The TCP listener: a bearer token on every call (health checks included), TLS when
configured, plaintext on loopback only."""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.helpers import DaemonDirs, DaemonProcess
from trackd._transport.connection import make_stub
from trackd.v1 import daemon_service_pb2


def _tcp_address(d: DaemonProcess) -> str:
    with grpc.insecure_channel(f"unix:{d.dirs.socket}") as ch:
        info = make_stub(ch, daemon_service_pb2, "DaemonService").GetDaemonInfo(
            daemon_service_pb2.GetDaemonInfoRequest(), timeout=10)
    return next(a for a in info.addresses if not a.startswith("unix:"))


def _start(env: dict[str, str]) -> Iterator[tuple[DaemonProcess, str, str]]:
    dirs = DaemonDirs.make()
    dirs.env.update(env)
    d = DaemonProcess(dirs)
    d.start()
    try:
        token_file = Path(dirs.env["TRACKD_STATE_DIR"]) / "token"
        yield d, _tcp_address(d), token_file.read_text().strip()
    finally:
        d.stop()
        dirs.cleanup()


@pytest.fixture(scope="module")
def tcp() -> Iterator[tuple[DaemonProcess, str, str]]:
    yield from _start({"TRACKD_TCP_ADDRESS": "127.0.0.1:0"})


def _health(channel: grpc.Channel, token: str | None) -> int:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), metadata=metadata, timeout=10).status


def test_the_token_is_made_at_first_start_and_kept_owner_only(
        tcp: tuple[DaemonProcess, str, str]) -> None:
    d, _, token = tcp
    path = Path(d.dirs.env["TRACKD_STATE_DIR"]) / "token"
    assert len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("token", [None, "wrong"])
def test_calls_without_the_token_are_unauthenticated(
        tcp: tuple[DaemonProcess, str, str], token: str | None) -> None:
    _, address, _ = tcp
    with grpc.insecure_channel(address) as ch:
        with pytest.raises(grpc.RpcError) as err:
            _health(ch, token)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "token" in err.value.details()
        stub = make_stub(ch, daemon_service_pb2, "DaemonService")
        with pytest.raises(grpc.RpcError) as err:
            stub.Shutdown(daemon_service_pb2.ShutdownRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_token_opens_every_service(tcp: tuple[DaemonProcess, str, str]) -> None:
    d, address, token = tcp
    with grpc.insecure_channel(address) as ch:
        assert _health(ch, token) == health_pb2.HealthCheckResponse.SERVING
        info = make_stub(ch, daemon_service_pb2, "DaemonService").GetDaemonInfo(
            daemon_service_pb2.GetDaemonInfoRequest(), metadata=(("authorization", f"Bearer {token}"),),
            timeout=10)
        assert info.pid == d.pid


SDK_SCRIPT = """
import trackd
run = trackd.init(project="tcp", id="t1", settings=trackd.Settings(silent=True))
for i in range(20):
    run.log({"x": i})
run.finish()
print(len(trackd.Api().run("tcp/t1").history(pandas=False)))
"""


def _sdk(address: str, extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKD_")}
    env.update(TRACKD_ADDRESS=address, HOME=str(tmp_path), **extra)
    return subprocess.run([sys.executable, "-c", SDK_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)


def test_the_sdk_logs_over_tcp_with_the_token(tcp: tuple[DaemonProcess, str, str],
                                              tmp_path: Path) -> None:
    _, address, token = tcp
    out = _sdk(address, {"TRACKD_TOKEN": token}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "20"


def test_the_sdk_without_the_token_is_told_so(tcp: tuple[DaemonProcess, str, str],
                                              tmp_path: Path) -> None:
    _, address, _ = tcp
    out = _sdk(address, {"TRACKD_MODE": "online", "TRACKD_INIT_TIMEOUT": "10"}, tmp_path)
    assert out.returncode != 0
    assert "AuthenticationError" in out.stderr and "token" in out.stderr


def test_plaintext_tcp_must_stay_on_loopback() -> None:
    dirs = DaemonDirs.make()
    dirs.env["TRACKD_TCP_ADDRESS"] = "0.0.0.0:0"
    d = DaemonProcess(dirs)
    try:
        with pytest.raises(RuntimeError, match="daemon exited"):
            d.start(timeout=20)
        assert "only with TLS" in d.log_text()
    finally:
        d.stop()
        dirs.cleanup()


# -- TLS --------------------------------------------------------------------------------------

def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, str, str, Path]]:
    certs = tmp_path_factory.mktemp("certs")
    cert, key = _self_signed(certs)
    for d, address, token in _start({"TRACKD_TCP_ADDRESS": "127.0.0.1:0",
                                     "TRACKD_TLS_CERT": str(cert), "TRACKD_TLS_KEY": str(key)}):
        yield d, address, token, cert


def test_the_sdk_logs_over_tls(tls: tuple[DaemonProcess, str, str, Path], tmp_path: Path) -> None:
    _, address, token, cert = tls
    out = _sdk(address, {"TRACKD_TOKEN": token, "TRACKD_TLS_CA": str(cert)}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "20"


def test_a_tls_listener_refuses_plaintext(tls: tuple[DaemonProcess, str, str, Path]) -> None:
    _, address, token, _ = tls
    with grpc.insecure_channel(address) as ch, pytest.raises(grpc.RpcError) as err:
        _health(ch, token)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
