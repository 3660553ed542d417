"""A sweep run's command line: every macro of W&B's ``command``, and the default command."""

from __future__ import annotations

import json
import sys

import pytest

from trackd.errors import UsageError
from trackd.sweeps import command

PARAMS = {"lr": 0.01, "layers": 3, "act": "relu", "bn": True, "dropout": False,
          "opt": {"name": "adam", "beta": 0.9}}


def _never() -> str:
    raise AssertionError("the JSON file is written only when the command uses it")


def test_default_command_is_env_interpreter_program_args() -> None:
    argv = command.render(None, "train.py", {"lr": 0.1, "bs": 8}, _never)
    assert argv == ["/usr/bin/env", sys.executable, "train.py", "--lr=0.1", "--bs=8"]


def test_args_flatten_nested_groups_and_print_values_as_python_does() -> None:
    argv = command.render(["${args}"], None, PARAMS, _never)
    assert argv == ["--lr=0.01", "--layers=3", "--act=relu", "--bn=True", "--dropout=False",
                    "--opt.name=adam", "--opt.beta=0.9"]


def test_args_no_hyphens() -> None:
    assert command.render(["${args_no_hyphens}"], None, {"a": 1, "b": None}, _never) == [
        "a=1", "b=None"]


def test_args_no_boolean_flags_keeps_true_as_a_bare_flag_and_drops_false() -> None:
    assert command.render(["${args_no_boolean_flags}"], None, PARAMS, _never) == [
        "--lr=0.01", "--layers=3", "--act=relu", "--bn", "--opt.name=adam", "--opt.beta=0.9"]


def test_args_json_is_one_argument_nested_as_the_config() -> None:
    argv = command.render(["prog", "${args_json}"], None, PARAMS, _never)
    assert argv[0] == "prog" and len(argv) == 2
    assert json.loads(argv[1]) == PARAMS


def test_args_json_file_is_written_when_used() -> None:
    calls = []

    def write() -> str:
        calls.append(1)
        return "/tmp/config-x.json"

    argv = command.render(["${interpreter}", "${program}", "--config", "${args_json_file}"],
                          "p.py", PARAMS, write, interpreter="/opt/py")
    assert argv == ["/opt/py", "p.py", "--config", "/tmp/config-x.json"] and calls == [1]


def test_other_entries_are_kept_and_a_list_of_values_prints_as_python() -> None:
    argv = command.render(["${env}", "python3", "-u", "x.py", "${args}"], None,
                          {"sizes": [1, 2]}, _never)
    assert argv == ["/usr/bin/env", "python3", "-u", "x.py", "--sizes=[1, 2]"]


def test_program_macro_without_a_program_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no program"):
        command.render(None, None, {"a": 1}, _never)


def test_a_command_that_is_not_strings_is_refused() -> None:
    with pytest.raises(UsageError, match="list of strings"):
        command.render(["python", 3], "p.py", {}, _never)  # type: ignore[list-item]
