"""init() in a real Jupyter kernel (ipykernel, driven by jupyter_client): a config value may
be changed there without allow_val_change, as W&B's notebook default says."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from trackd import Api


@pytest.fixture
def kernel(clean_sdk, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A Python kernel of this interpreter, in tmp_path, with the test daemon's environment."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=dict(os.environ),
                              startup_timeout=60)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run_cell(kc: Any, code: str) -> tuple[str, dict[str, Any]]:
    """Run ``code``; its stdout and its reply's content (status, ename, evalue...)."""
    msg_id = kc.execute(code)
    out: list[str] = []
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:  # skip replies to earlier requests (the kernel_info of the start)
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return "".join(out), reply["content"]


def test_a_config_value_may_change_in_a_notebook(kernel):
    out, reply = run_cell(kernel, "\n".join([
        "import json, trackd",
        "run = trackd.init(project='notebook', config={'lr': 0.1, 'epochs': 3})",
        "run.config.lr = 0.2",
        "run.config.update({'epochs': 5})",
        "trackd.config['lr'] = 0.3",
        "print(json.dumps({'path': run.path, 'lr': run.config.lr}))",
        "run.finish()",
    ]))
    assert reply["status"] == "ok", reply
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["lr"] == 0.3
    assert Api().run(seen["path"]).config == {"lr": 0.3, "epochs": 5}


def test_allow_val_change_false_still_refuses_in_a_notebook(kernel):
    _, reply = run_cell(kernel, "\n".join([
        "import trackd",
        "run = trackd.init(project='notebook', config={'lr': 0.1}, allow_val_change=False)",
        "try:",
        "    run.config.lr = 0.2",
        "finally:",
        "    run.finish()",
    ]))
    assert reply["status"] == "error" and reply["ename"] == "ConfigError", reply
