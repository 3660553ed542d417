"""W&B's ``wandb.env``: the environment variables a run reads, by W&B's names, and the helpers
libraries use to set them (transformers' sweep path calls ``set_entity``/``set_project``).

trackd reads every ``WANDB_<NAME>`` (and, winning over it, ``TRACKD_<NAME>``) as a setting, so
a value set here reaches the next ``init()``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

API_KEY = "WANDB_API_KEY"
BASE_URL = "WANDB_BASE_URL"
ENTITY = "WANDB_ENTITY"
PROJECT = "WANDB_PROJECT"
MODE = "WANDB_MODE"
DIR = "WANDB_DIR"
NAME = "WANDB_NAME"
NOTES = "WANDB_NOTES"
TAGS = "WANDB_TAGS"
RUN_ID = "WANDB_RUN_ID"
RUN_GROUP = "WANDB_RUN_GROUP"
JOB_TYPE = "WANDB_JOB_TYPE"
RESUME = "WANDB_RESUME"
SILENT = "WANDB_SILENT"
QUIET = "WANDB_QUIET"
CONSOLE = "WANDB_CONSOLE"
SAVE_CODE = "WANDB_SAVE_CODE"
CONFIG_PATHS = "WANDB_CONFIG_PATHS"
CONFIG_DIR = "WANDB_CONFIG_DIR"
CACHE_DIR = "WANDB_CACHE_DIR"
DATA_DIR = "WANDB_DATA_DIR"
ARTIFACT_DIR = "WANDB_ARTIFACT_DIR"
START_METHOD = "WANDB_START_METHOD"
SWEEP_ID = "WANDB_SWEEP_ID"
SWEEP_PARAM_PATH = "WANDB_SWEEP_PARAM_PATH"
AGENT_REPORT_INTERVAL = "WANDB_AGENT_REPORT_INTERVAL"
AGENT_KILL_DELAY = "WANDB_AGENT_KILL_DELAY"
AGENT_DISABLE_FLAPPING = "WANDB_AGENT_DISABLE_FLAPPING"
AGENT_MAX_INITIAL_FAILURES = "WANDB_AGENT_MAX_INITIAL_FAILURES"
USERNAME = "WANDB_USERNAME"
USER_EMAIL = "WANDB_USER_EMAIL"
DISABLE_CODE = "WANDB_DISABLE_CODE"
DISABLE_GIT = "WANDB_DISABLE_GIT"
IGNORE = "WANDB_IGNORE_GLOBS"
INIT_TIMEOUT = "WANDB_INIT_TIMEOUT"
LOG_MODEL = "WANDB_LOG_MODEL"
WATCH = "WANDB_WATCH"

Env = MutableMapping[str, str]


def _env(env: Env | None) -> Env:
    return os.environ if env is None else env


def _get(name: str, default: str | None, env: Env | None) -> str | None:
    return _env(env).get(name, default)


def get_entity(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(ENTITY, default, env)


def get_project(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(PROJECT, default, env)


def get_dir(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(DIR, default, env)


def get_run(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(RUN_ID, default, env)


def get_base_url(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(BASE_URL, default, env)


def get_api_key(default: str | None = None, env: Env | None = None) -> str | None:
    return _get(API_KEY, default, env)


def set_entity(value: str, env: Env | None = None) -> None:
    """Make ``value`` the entity of runs started from now on (``WANDB_ENTITY``)."""
    _env(env)[ENTITY] = value


def set_project(value: str, env: Env | None = None) -> None:
    """Make ``value`` the project of runs started from now on (``WANDB_PROJECT``); an empty
    value means ``"uncategorized"``, as in W&B."""
    _env(env)[PROJECT] = value or "uncategorized"
