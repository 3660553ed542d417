"""The opt-in ``wandb`` package: W&B's module paths answered by trackd.

Libraries that integrate with W&B (transformers, Lightning, accelerate, ultralytics...)
``import wandb`` and check its distribution's version. ``trackd compat install`` (or
:func:`install`) puts a real ``wandb`` distribution into the current Python environment, whose
modules are thin aliases of trackd's: ``import wandb`` is then trackd (``wandb.run``,
``wandb.config`` and ``wandb.summary`` follow the current run), and ``wandb.errors``,
``wandb.sdk.wandb_run.Run``, ``wandb.integration.sb3``... are where those libraries look.
It is never installed by default, and never over the real ``wandb``.

The package's source is the directory ``wandb_package`` next to this file, copied as it is;
W&B's helpers that trackd has no other use for (telemetry, the disabled-run placeholder,
``wandb.util``, ``wandb.env``) live in this package's modules, which the copied files import.
"""

from __future__ import annotations

from trackd.compat.install import (
    WANDB_VERSION,
    CompatInstallError,
    install,
    installed,
    uninstall,
)

__all__ = ["WANDB_VERSION", "CompatInstallError", "install", "installed", "uninstall"]
