"""Hyperparameter sweeps (W&B's ``wandb.sweep``, ``wandb.agent``, ``wandb.controller``).

The daemon stores each sweep and runs its search; this package is the client side:

- :mod:`.sweep` — ``trackd.sweep()``: create a sweep from its configuration;
- :mod:`.agent` — ``trackd.agent()``: take runs from a sweep and run them (a function in this
  process, or the sweep's command, :mod:`.command`, as child processes);
- :mod:`.controller` — ``trackd.controller()``: W&B's local-controller object, with
  :class:`._sweep_run.SweepRun` for custom search and stopping functions.

The public API's ``Sweep`` objects are in :mod:`trackd._api_sweeps`; what ``trackd.init()``
does inside a sweep run is in :mod:`trackd._sweep_init`. The modules are imported where they
are used (``trackd.sweep`` imports :mod:`.sweep` when called): this package's own import
brings in nothing, so the parts of the SDK it builds on may import its light modules.
"""
