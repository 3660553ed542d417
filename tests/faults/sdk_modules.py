"""Import the whole SDK up front, for scripts that then drop to another uid (which may not be
able to read the project's files): everything the SDK imports lazily is loaded before.

Left out: the CLI, and the modules written for one training library (W&B's
``wandb.integration.*``), which import that library (which may need settings of its own or
write to the home directory).
"""

from __future__ import annotations

import importlib
import pkgutil

import trackd

LEFT_OUT = ("trackd._cli", "trackd.integrations", "trackd.compat.wandb_package.integration")


def import_sdk_modules(path: list[str] | None = None, prefix: str = "trackd.") -> None:
    """Import every module below ``path`` (trackd's) but those left out; pkgutil's
    walk_packages would import the packages left out to look inside them."""
    for mod in pkgutil.iter_modules(trackd.__path__ if path is None else path, prefix):
        if mod.name.startswith(LEFT_OUT):
            continue
        module = importlib.import_module(mod.name)
        if mod.ispkg:
            import_sdk_modules(module.__path__, mod.name + ".")
