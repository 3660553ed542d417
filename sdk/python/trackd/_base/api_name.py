"""The module name the SDK's messages give its API: ``trackd``, or ``wandb`` once the opt-in
``wandb`` package (``trackd compat install``) is imported, so that a message reached through
``import wandb`` says ``wandb.init()``, as the code the user reads does."""

from __future__ import annotations

_name = "trackd"


def api_name() -> str:
    """``trackd`` or ``wandb``: how messages name the module (``f"{api_name()}.init()"``)."""
    return _name


def set_api_name(name: str) -> None:
    """Name the module in messages from now on (the ``wandb`` package sets ``"wandb"``)."""
    global _name
    if name not in ("trackd", "wandb"):
        raise ValueError(f"the API is named trackd or wandb, not {name!r}")
    _name = name
