"""W&B's ``wandb`` module, answered by trackd.

Installed on request by ``trackd compat install`` (removed by ``trackd compat uninstall``) so
that code and libraries written for W&B run against trackd unchanged. Every name not defined
here is trackd's, looked up when it is used: ``wandb.run``, ``wandb.config`` and
``wandb.summary`` follow the current run, and ``wandb.init`` returns a ``trackd.Run``.
"""

import importlib as _importlib

import trackd as _trackd
from trackd._base.api_name import set_api_name as _set_api_name
from trackd.compat.install import WANDB_VERSION as _WANDB_VERSION

_set_api_name("wandb")

#: The W&B version whose API trackd follows (the distribution's version too).
__version__ = _WANDB_VERSION

#: This package's own modules: ``wandb.errors`` is ``wandb/errors``, not trackd's module.
_SUBMODULES = frozenset({
    "apis", "data_types", "env", "errors", "integration", "plot", "sdk", "util", "wandb_run",
})


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    try:
        return getattr(_trackd, name)
    except AttributeError:
        raise AttributeError(f"module 'wandb' has no attribute {name!r} (it is trackd's "
                             f"wandb package, trackd {_trackd.__version__})") from None


def __dir__():
    return sorted(set(globals()) | set(_trackd.__all__) | _SUBMODULES)
