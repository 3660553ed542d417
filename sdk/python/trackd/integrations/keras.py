"""Keras 3: W&B's ``wandb.integration.keras`` callbacks for trackd, on any Keras backend
(TensorFlow, JAX or PyTorch).

    run = trackd.init(project="keras")
    model.fit(x, y, epochs=5, callbacks=[
        WandbMetricsLogger(log_freq="batch"),
        WandbModelCheckpoint("models/model.keras"),
    ])

- :class:`WandbMetricsLogger` logs Keras' metrics: ``epoch/<metric>`` each epoch against
  ``epoch/epoch`` (with ``epoch/learning_rate``), and with ``log_freq`` ``batch/<metric>``
  every that many batches against ``batch/batch_step``.
- :class:`WandbModelCheckpoint` is Keras' ``ModelCheckpoint`` that also stores each saved file
  as the ``model`` artifact ``run_<run id>_model`` (aliases ``latest`` and ``epoch_<n>``).
- :class:`WandbEvalCallback` is the base of callbacks that log a table of validation data once
  (a ``dataset`` artifact) and a table of predictions each epoch (an ``evaluation`` artifact).
"""

from __future__ import annotations

import abc
import os
from typing import Any

import keras

import trackd
from trackd._base.api_name import api_name
from trackd.integrations.telemetry import context as _telemetry


def _current_run(what: str) -> Any:
    run = trackd.run
    if run is None:
        name = api_name()
        raise trackd.Error(f"You must call `{name}.init()` before {what}()")
    return run


class WandbMetricsLogger(keras.callbacks.Callback):
    """Log the metrics Keras computes to the current run.

    :param log_freq: ``"epoch"`` (default), ``"batch"`` (every batch) or an int (every that
        many batches; epoch metrics are logged too).
    :param initial_global_step: the first ``batch/batch_step`` (resuming training).
    :raises trackd.Error: no run was started.
    :raises ValueError: ``log_freq`` is not ``"epoch"``, ``"batch"`` or a positive int.
    """

    def __init__(self, log_freq: str | int = "epoch", initial_global_step: int = 0,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        run = _current_run("WandbMetricsLogger")
        with _telemetry(run=run) as tel:
            tel.feature.keras_metrics_logger = True
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (isinstance(log_freq, bool) or not isinstance(log_freq, int)
                                    or log_freq < 1):
            raise ValueError(f'log_freq must be "epoch", "batch" or a positive int, '
                             f"got {log_freq!r}")
        self.logging_batch_wise = log_freq != "epoch"
        self.log_freq: Any = log_freq
        self.global_batch = 0
        self.global_step = initial_global_step
        if self.logging_batch_wise:
            run.define_metric("batch/batch_step")
            run.define_metric("batch/*", step_metric="batch/batch_step")
        run.define_metric("epoch/epoch")
        run.define_metric("epoch/*", step_metric="epoch/epoch")

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is None:
            return None
        if callable(rate):  # a LearningRateSchedule: its value at the optimizer's step
            rate = rate(optimizer.iterations)
        try:
            return float(keras.ops.convert_to_numpy(rate))
        except (TypeError, ValueError):
            trackd.termwarn("Unable to log learning rate.", repeat=False)
            return None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = {f"epoch/{k}": v for k, v in (logs or {}).items()}
        row["epoch/epoch"] = epoch
        rate = self._learning_rate()
        if rate is not None:
            row["epoch/learning_rate"] = rate
        trackd.log(row)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.logging_batch_wise and batch % self.log_freq == 0:
            row = {f"batch/{k}": v for k, v in (logs or {}).items()}
            row["batch/batch_step"] = self.global_batch
            rate = self._learning_rate()
            if rate is not None:
                row["batch/learning_rate"] = rate
            trackd.log(row)
            self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)


class WandbModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ``ModelCheckpoint`` (same arguments) that stores every file it saves with the
    run, as versions of the ``model`` artifact ``run_<run id>_model``.

    :raises trackd.Error: no run was started.
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(filepath=os.fspath(filepath), monitor=monitor, verbose=verbose,
                         save_best_only=save_best_only, save_weights_only=save_weights_only,
                         mode=mode, save_freq=save_freq,
                         initial_value_threshold=initial_value_threshold, **kwargs)
        run = _current_run("WandbModelCheckpoint")
        with _telemetry(run=run) as tel:
            tel.feature.keras_model_checkpoint = True

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        # Keras' ModelCheckpoint saves here (each epoch, or every save_freq batches); a file
        # it did not write again (save_best_only without a better value) is not stored again.
        path = self._get_file_path(epoch, batch, logs)
        before = os.path.getmtime(path) if os.path.isfile(path) else None
        super()._save_model(epoch=epoch, batch=batch, logs=logs)
        if not os.path.isfile(path) or os.path.getmtime(path) == before:
            return
        run = _current_run("WandbModelCheckpoint")
        artifact = trackd.Artifact(f"run_{run.id}_model", type="model")
        artifact.add_file(path)
        aliases = ["latest"] if batch is not None else ["latest", f"epoch_{epoch}"]
        run.log_artifact(artifact, aliases=aliases)


class WandbEvalCallback(keras.callbacks.Callback, abc.ABC):
    """Base of callbacks that log validation data and the model's predictions as tables.

    Subclasses fill :attr:`data_table` in :meth:`add_ground_truth` (once, at the start of
    training; it is stored as the ``dataset`` artifact ``val``, and :attr:`data_table_ref` is the
    stored table, to refer to its rows) and :attr:`pred_table` in :meth:`add_model_predictions`
    (each epoch; stored as the ``evaluation`` artifact ``run_<run id>_pred``).

    :param data_table_columns: the validation table's columns.
    :param pred_table_columns: the predictions table's columns.
    :raises trackd.Error: no run was started.
    """

    def __init__(self, data_table_columns: list[str], pred_table_columns: list[str],
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        run = _current_run("WandbEvalCallback")
        with _telemetry(run=run) as tel:
            tel.feature.keras_wandb_eval_callback = True
        self.data_table_columns = data_table_columns
        self.pred_table_columns = pred_table_columns
        self.data_table: Any = None
        self.data_table_ref: Any = None
        self.pred_table: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.init_data_table(column_names=self.data_table_columns)
        self.add_ground_truth(logs)
        self.log_data_table()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.init_pred_table(column_names=self.pred_table_columns)
        self.add_model_predictions(epoch, logs)
        self.log_pred_table()

    @abc.abstractmethod
    def add_ground_truth(self, logs: dict[str, Any] | None = None) -> None:
        """Add the validation data's rows to :attr:`data_table`."""

    @abc.abstractmethod
    def add_model_predictions(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Add the model's predictions (this epoch) to :attr:`pred_table`."""

    def init_data_table(self, column_names: list[str]) -> None:
        self.data_table = trackd.Table(columns=column_names, allow_mixed_types=True)

    def init_pred_table(self, column_names: list[str]) -> None:
        self.pred_table = trackd.Table(columns=column_names, allow_mixed_types=True)

    def log_data_table(self, name: str = "val", type: str = "dataset",  # noqa: A002
                       table_name: str = "val_data") -> None:
        """Store :attr:`data_table` as an artifact the run uses; :attr:`data_table_ref` is
        then the stored table."""
        run = _current_run("WandbEvalCallback")
        artifact = trackd.Artifact(name, type=type)
        artifact.add(self.data_table, table_name)
        run.use_artifact(artifact)
        artifact.wait()
        self.data_table_ref = artifact.get(table_name)

    def log_pred_table(self, type: str = "evaluation",  # noqa: A002
                       table_name: str = "eval_data", aliases: list[str] | None = None) -> None:
        """Store :attr:`pred_table` as a version of the run's ``evaluation`` artifact."""
        run = _current_run("WandbEvalCallback")
        artifact = trackd.Artifact(f"run_{run.id}_pred", type=type)
        artifact.add(self.pred_table, table_name)
        run.log_artifact(artifact, aliases=aliases or ["latest"])
