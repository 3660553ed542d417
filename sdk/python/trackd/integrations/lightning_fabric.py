"""Lightning Fabric: W&B's ``wandb.integration.lightning.fabric.WandbLogger`` for trackd.

    logger = WandbLogger(project="fabric", log_model=True)
    fabric = Fabric(loggers=[logger])
    fabric.log_dict({"loss": loss}, step=step)
    logger.log_image("samples", [image], step=step)

Lightning's own ``lightning.pytorch.loggers.WandbLogger`` serves the Trainer; Fabric has no
W&B logger of its own, and this is it: metrics go to the run with ``trainer/global_step`` as
their step metric, hyper-parameters to its config, tables, text, images, audio and video as
trackd's data types, and (with ``log_model``) checkpoints as ``model`` artifacts.
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.fabric.loggers.logger import Logger, rank_zero_experiment
from lightning.fabric.utilities.logger import (
    _add_prefix,
    _convert_params,
    _sanitize_callable_params,
)
from lightning.fabric.utilities.rank_zero import rank_zero_only, rank_zero_warn

import trackd
from trackd.integrations.telemetry import context as _telemetry

STEP_METRIC = "trainer/global_step"
#: The checkpoint callback's settings kept in each model artifact's metadata.
_CHECKPOINT_SETTINGS = ("monitor", "mode", "save_last", "save_top_k", "save_weights_only",
                        "_every_n_train_steps")


class WandbLogger(Logger):
    """Log a Fabric training loop to a trackd run (made on first use of :attr:`experiment`).

    :param name: the run's display name.
    :param save_dir: where run directories are made (``dir``, if given, wins).
    :param version: the run id to use or resume (``id`` is the same).
    :param offline: record the run offline (``trackd sync`` sends it later).
    :param project: the project (default ``$WANDB_PROJECT`` or ``"lightning_fabric_logs"``).
    :param log_model: store checkpoints given to :meth:`after_save_checkpoint` as ``model``
        artifacts: ``True`` when the logger is finalized, ``"all"`` as they are saved.
    :param experiment: a run to log to instead of starting one.
    :param prefix: put before every metric key (``prefix-key``).
    :param checkpoint_name: the model artifact's name (default ``model-<run id>``).
    :param kwargs: passed on to ``init`` (``config``, ``tags``, ``group``, ``entity``...).
    :raises ValueError: ``offline`` with ``log_model`` (offline runs store no artifacts).
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(self, name: str | None = None, save_dir: str | os.PathLike[str] = ".",
                 version: str | None = None, offline: bool = False,
                 dir: str | os.PathLike[str] | None = None,  # noqa: A002 - W&B's name
                 id: str | None = None,  # noqa: A002
                 anonymous: bool | None = None, project: str | None = None,
                 log_model: str | bool = False, experiment: Any = None, prefix: str = "",
                 checkpoint_name: str | None = None, **kwargs: Any) -> None:
        if offline and log_model:
            raise ValueError(f"Providing log_model={log_model} and offline={offline} is an "
                             "invalid configuration: offline runs store no artifacts.")
        super().__init__()
        self._offline = offline
        self._log_model = log_model
        self._prefix = prefix
        self._experiment = experiment
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callback: Any = None
        self._checkpoint_name = checkpoint_name
        save_dir = os.fspath(dir if dir is not None else save_dir)
        project = project or os.environ.get("WANDB_PROJECT", "lightning_fabric_logs")
        self._wandb_init: dict[str, Any] = {
            "name": name, "project": project, "dir": save_dir, "id": version or id,
            "resume": "allow", "anonymous": "allow" if anonymous else None, **kwargs,
        }
        if offline:
            self._wandb_init["mode"] = "offline"
        self._project = project
        self._save_dir = save_dir
        self._name = name
        self._id = version or id

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The run: the one given, the current one (with a warning), or a new one."""
        if self._experiment is None:
            if trackd.run is not None:
                rank_zero_warn("There is a run already (init() was called before this "
                               "logger): logging to it. Finish it first for a new run.")
                self._experiment = trackd.run
            else:
                self._experiment = trackd.init(**self._wandb_init)
            if isinstance(self._experiment, trackd.Run):
                self._experiment.define_metric(STEP_METRIC)
                self._experiment.define_metric("*", step_metric=STEP_METRIC, step_sync=True)
            with _telemetry(run=self._experiment) as tel:
                tel.feature.lightning_fabric_logger = True
        return self._experiment

    @property
    def name(self) -> str | None:
        """The project the runs go to (Lightning's name of a logger's experiment group)."""
        return self._project

    @property
    def version(self) -> str | None:
        """The run's id."""
        return self._experiment.id if self._experiment is not None else self._id

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def root_dir(self) -> str:
        return self._save_dir

    @property
    def log_dir(self) -> str:
        return self._save_dir

    @property
    def group_separator(self) -> str:
        return "/"

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any,
                        **kwargs: Any) -> None:
        """Put ``params`` in the run's config (callables by name)."""
        params = _sanitize_callable_params(_convert_params(params))
        self.experiment.config.update(params, allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log ``metrics`` (keys prefixed by ``prefix``), at ``step`` as ``trainer/global_step``."""
        metrics = _add_prefix(dict(metrics), self._prefix, self.LOGGER_JOIN_CHAR)
        if step is not None:
            self.experiment.log({**metrics, STEP_METRIC: step})
        else:
            self.experiment.log(metrics)

    @rank_zero_only
    def log_table(self, key: str, columns: list[str] | None = None,
                  data: list[list[Any]] | None = None, dataframe: Any = None,
                  step: int | None = None) -> None:
        """Log a ``Table`` of ``columns`` and ``data`` (or of a pandas ``dataframe``)."""
        self.log_metrics({key: trackd.Table(columns=columns, data=data, dataframe=dataframe)},
                         step)

    @rank_zero_only
    def log_text(self, key: str, columns: list[str] | None = None,
                 data: list[list[str]] | None = None, dataframe: Any = None,
                 step: int | None = None) -> None:
        """Log text as a ``Table`` (as :meth:`log_table`)."""
        self.log_table(key, columns, data, dataframe, step)

    def _media(self, kind: type, key: str, items: list[Any], step: int | None,
               kwargs: dict[str, Any]) -> None:
        if not isinstance(items, list):
            raise TypeError(f'Expected a list as "{kind.__name__.lower()}s", found '
                            f"{type(items).__name__}")
        n = len(items)
        for k, values in kwargs.items():
            if len(values) != n:
                raise ValueError(f"Expected {n} items but only found {len(values)} for {k}")
        per_item = [{k: kwargs[k][i] for k in kwargs} for i in range(n)]
        self.log_metrics({key: [kind(item, **extra) for item, extra in zip(items, per_item,
                                                                          strict=True)]},
                         step)

    @rank_zero_only
    def log_image(self, key: str, images: list[Any], step: int | None = None,
                  **kwargs: Any) -> None:
        """Log ``images`` under ``key``; each keyword is a list with one value per image
        (``caption=[...]``, ``masks=[...]``...)."""
        self._media(trackd.Image, key, images, step, kwargs)

    @rank_zero_only
    def log_audio(self, key: str, audios: list[Any], step: int | None = None,
                  **kwargs: Any) -> None:
        """Log ``audios`` (``sample_rate=[...]``, ``caption=[...]``: one per clip)."""
        self._media(trackd.Audio, key, audios, step, kwargs)

    @rank_zero_only
    def log_video(self, key: str, videos: list[Any], step: int | None = None,
                  **kwargs: Any) -> None:
        """Log ``videos`` (``fps=[...]``, ``caption=[...]``: one per video)."""
        self._media(trackd.Video, key, videos, step, kwargs)

    @rank_zero_only
    def log_html(self, key: str, htmls: list[Any], step: int | None = None,
                 **kwargs: Any) -> None:
        """Log ``htmls`` (strings or files) as ``Html``."""
        self._media(trackd.Html, key, htmls, step, kwargs)

    def watch(self, model: Any, log: str | None = "gradients", log_freq: int = 100,
              log_graph: bool = True) -> None:
        """Watch ``model``'s gradients and parameters (``run.watch``)."""
        self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> Any:
        """``run.use_artifact``: mark ``artifact`` as an input of the run and return it."""
        return self.experiment.use_artifact(artifact, type=artifact_type)

    @staticmethod
    @rank_zero_only
    def download_artifact(artifact: str, save_dir: str | os.PathLike[str] | None = None,
                          artifact_type: str | None = None,
                          use_artifact: bool | None = True) -> str:
        """Download ``artifact`` into ``save_dir``; returns the directory (through the current
        run when there is one and ``use_artifact``)."""
        if trackd.run is not None and use_artifact:
            found = trackd.run.use_artifact(artifact, type=artifact_type)
        else:
            found = trackd.Api().artifact(artifact, type=artifact_type)
        return str(found.download(root=os.fspath(save_dir) if save_dir is not None else None))

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Note a checkpoint callback's saves (Lightning's ``ModelCheckpoint`` or any object
        with ``best_k_models``, ``best_model_path`` and ``last_model_path``); with
        ``log_model="all"`` they are stored now, with ``log_model=True`` at :meth:`finalize`."""
        if self._log_model == "all" or (self._log_model is True
                                         and getattr(checkpoint_callback, "save_top_k", 1) == -1):
            self._log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callback = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Store the checkpoints noted (``log_model=True``) if training succeeded. The run is
        left open, as W&B's loggers leave it: ``trackd.finish()`` ends it."""
        if status != "success":
            return
        if self._checkpoint_callback is not None and self._experiment is not None:
            self._log_checkpoints(self._checkpoint_callback)

    def _log_checkpoints(self, callback: Any) -> None:
        for mtime, path, score in _new_checkpoints(callback, self._logged_model_time):
            settings = {k: getattr(callback, k) for k in _CHECKPOINT_SETTINGS
                        if hasattr(callback, k)}
            metadata = {"score": score.item() if hasattr(score, "item") else score,
                        "original_filename": Path(path).name,
                        type(callback).__name__: settings}
            name = self._checkpoint_name or f"model-{self.experiment.id}"
            artifact = trackd.Artifact(name=name, type="model", metadata=metadata)
            artifact.add_file(path, name="model.ckpt")
            best = path == getattr(callback, "best_model_path", None)
            self.experiment.log_artifact(artifact, aliases=["latest", "best"] if best else
                                         ["latest"])
            self._logged_model_time[path] = mtime


def _new_checkpoints(callback: Any, logged: dict[str, float]) -> list[tuple[float, str, Any]]:
    """``(mtime, path, score)`` of the callback's checkpoint files not stored since they last
    changed, oldest first."""
    found: dict[str, Any] = {}
    last = getattr(callback, "last_model_path", "") or ""
    if last and os.path.isfile(last):
        found[last] = getattr(callback, "current_score", None)
    best = getattr(callback, "best_model_path", "") or ""
    if best and os.path.isfile(best):
        found[best] = getattr(callback, "best_model_score", None)
    for path, score in (getattr(callback, "best_k_models", None) or {}).items():
        if os.path.isfile(path):
            found[path] = score
    out = [(os.path.getmtime(p), p, s) for p, s in found.items()]
    return sorted(c for c in out if c[1] not in logged or logged[c[1]] < c[0])
