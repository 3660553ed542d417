"""What a run is called and where it stands: the identity properties of :class:`trackd.Run`
(id, name, notes, tags, group, project, path, config, summary, step, settings...).

The settable ones (``name``, ``notes``, ``tags``) check the run field limits and send the
change to the daemon through the run's ``_send_update``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trackd._base import messages
from trackd._base.limits import check_fields
from trackd._run.config import Config, ConfigStatic
from trackd._run.summary import Summary
from trackd._settings import Settings
from trackd._transport.setup import current_settings


class RunIdentity:
    """The identity properties of a run (a base of :class:`trackd.Run`, which sets the
    attributes they read)."""

    _id: str
    _name: str | None
    _notes: str | None
    _tags: tuple[str, ...]
    _group: str | None
    _job_type: str | None
    _project: str
    _entity: str
    _dir: Path | None
    _sync_dir: Path | None
    _config: Config
    _summary: Summary
    _step: int
    _starting_step: int
    _start_time: float
    _mode: str
    _resumed: bool
    _settings: Settings
    url: Any
    project_url: Any
    sweep_url: Any
    #: Sends changed run fields to the daemon (trackd.Run's method).
    _send_update: Callable[..., None]

    @property
    def id(self) -> str:
        """The run id."""
        return self._id

    @property
    def name(self) -> str | None:
        """Display name (settable)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        """:raises FieldTooLargeError: longer than the run field limit (nothing changes)."""
        check_fields({"name": str(value)})
        self._name = str(value)
        self._send_update(name=self._name)

    @property
    def notes(self) -> str | None:
        """Notes (settable)."""
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        """:raises FieldTooLargeError: over the run field limit (nothing changes)."""
        check_fields({"notes": str(value)})
        self._notes = str(value)
        self._send_update(notes=self._notes)

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags (settable; ``run.tags += ("x",)`` adds one)."""
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        """:raises FieldTooLargeError: too many tags, or one too long (nothing changes)."""
        if isinstance(value, str):
            raise TypeError("tags must be a sequence of strings, not a string")
        tags = tuple(str(t) for t in value)
        check_fields({"tags": tags})
        self._tags = tags
        self._send_update(tags=list(self._tags))

    @property
    def group(self) -> str | None:
        return self._group

    @property
    def job_type(self) -> str | None:
        return self._job_type

    @property
    def project(self) -> str:
        return self._project

    def project_name(self) -> str:
        """Deprecated: use ``run.project``."""
        _deprecated("run.project_name()", "run.project")
        return self._project

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def path(self) -> str:
        """``entity/project/run_id``."""
        return f"{self._entity}/{self._project}/{self._id}"

    @property
    def dir(self) -> str:
        """The directory for the run's files."""
        return str(self._dir) if self._dir else ""

    @property
    def config(self) -> Config:
        return self._config

    @property
    def config_static(self) -> ConfigStatic:
        """A read-only snapshot of the config with attribute access (``.lr``, ``["lr"]``)."""
        return ConfigStatic(self._config)

    @property
    def summary(self) -> Summary:
        return self._summary

    @property
    def step(self) -> int:
        """The current step (advanced by log)."""
        return self._step

    @property
    def starting_step(self) -> int:
        return self._starting_step

    @property
    def start_time(self) -> float:
        return self._start_time

    @property
    def offline(self) -> bool:
        return self._mode == "offline"

    @property
    def disabled(self) -> bool:
        return self._mode == "disabled"

    @property
    def resumed(self) -> bool:
        """True when ``init(resume=...)`` continued an existing run."""
        return self._resumed

    @property
    def settings(self) -> Settings:
        """A frozen copy of the run's settings, knowing the run's directories (``sync_dir``,
        ``files_dir``, ``log_dir``, ``sync_file``, ``timespec``...), its dashboard URLs and
        whether it was resumed. Setting a field of it raises
        :class:`trackd._settings.FrozenSettingsError` (a ``UsageError`` and an
        ``AttributeError``); it never changes the run."""
        return self._settings._for_run(
            str(self._sync_dir) if self._sync_dir else None, self._start_time,
            resumed=self._resumed,
            urls={"run_url": self.url, "project_url": self.project_url,
                  "sweep_url": self.sweep_url})

    @property
    def sweep_id(self) -> str | None:
        return self._settings.sweep_id



def _deprecated(old: str, new: str) -> None:
    messages.warn(current_settings(), f"{old} is deprecated and will be removed; use {new}",
                  DeprecationWarning, stacklevel=3)
