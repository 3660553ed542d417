"""The checks of the seed's elements, keyed by the element's name in the inventory.

A check is ``fn(ctx)`` (``ctx``: :class:`tests.conformance.context.Ctx`) that exercises the
element against the real daemon and asserts what the seed documents. Register one with::

    @check("Artifact.add_dir", "Artifact.add_dir.merge")
    def _(ctx): ...

One function may check several elements (a method and the arguments it honours); an element may
have several checks (all must pass). Arguments always get the signature check of
``test_conformance.py`` (present, with the documented default); a registered check adds what
the argument does. Settings fields always get the construct/read-back check and the
bad-value check; a registered check adds what the field does.

Issues 16-18 add their elements' checks here by registering them in a module of ``checks/``
(and listing that module in ``MODULES``); an element owned by a later issue that has a check is
counted as checked.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], None]

CHECKS: dict[str, list[Check]] = defaultdict(list)

MODULES = (
    "tests.conformance.checks.artifact",
    "tests.conformance.checks.artifact_files",
    "tests.conformance.checks.run",
    "tests.conformance.checks.settings",
    "tests.conformance.checks.settings_fields",
    "tests.conformance.checks.functions",
    "tests.conformance.checks.watch",
    "tests.conformance.checks.login",
    "tests.conformance.checks.sweeps",
)


def check(*names: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for name in names:
            CHECKS[name].append(fn)
        return fn

    return register


def load() -> dict[str, list[Check]]:
    for module in MODULES:
        importlib.import_module(module)
    return CHECKS
