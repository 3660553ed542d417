"""Hyperparameter sweeps (W&B's ``wandb.sweep``, ``wandb.agent``, ``wandb.controller``).

The daemon stores each sweep and runs its search; this package is the client side:

- :mod:`.sweep` — ``trackd.sweep()``: create a sweep from its configuration;
- :mod:`.agent` — ``trackd.agent()``: take runs from a sweep and run them (a function in this
  process, or the sweep's command, :mod:`.command`, as child processes);
- :mod:`.controller` — ``trackd.controller()``: W&B's local-controller object, with
  :class:`._sweep_run.SweepRun` for custom search and stopping functions.

Here: :class:`SweepRun` (what a controller's custom search returns and sees) and
:class:`RunStopped` (what a sweep function gets when the sweep stops its run).

The public API's ``Sweep`` objects are in :mod:`trackd._api.sweeps`; what ``trackd.init()``
does inside a sweep run is in :mod:`trackd._init.sweep_init`. The modules above are imported where
they are used (``trackd.sweep`` imports :mod:`.sweep` when called): this package's own import
brings in only those two plain classes, so the parts of the SDK it builds on may import its
light modules.
"""

from trackd.sweeps._proposal import RunStopped
from trackd.sweeps._sweep_run import SweepRun

__all__ = ["RunStopped", "SweepRun"]
