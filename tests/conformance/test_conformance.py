"""Every element of the seed reference, exercised against the real daemon.

One test per element of ``inventory.py``: its registered checks (``registry.py``, ``checks/``);
for an argument, also its presence in the callable's signature with the documented default and
in the documented order; for a Settings field, also constructing, reading back and refusing a
bad value. Elements left to issues 16-18 are not collected until a check is registered for them.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest

import trackd
from tests.conformance import registry
from tests.conformance.context import Ctx
from tests.conformance.inventory import Element, by_name, elements
from tests.conformance.seed import REQUIRED, UNSIGNED
from tests.conformance.values import bad_value, good_value, read_back, same

CHECKS = registry.load()
ELEMENTS = [e for e in elements() if e.owner is None or e.name in CHECKS]


def resolve(name: str) -> Any:
    """The object a callable's name means: ``wandb.init`` -> ``trackd.init``, ``Run.log`` ->
    ``trackd.Run.log``."""
    head, _, rest = name.partition(".")
    obj = trackd if head == "wandb" else getattr(trackd, head)
    for part in rest.split(".") if rest else ():
        obj = inspect.getattr_static(obj, part) if isinstance(obj, type) else getattr(obj, part)
        if isinstance(obj, (classmethod, staticmethod)):
            obj = obj.__func__
    return obj


def check_argument(e: Element) -> None:
    owner_name, _, param = e.name.rpartition(".")
    owner = by_name()[owner_name]
    sig = inspect.signature(resolve(owner_name))
    params = sig.parameters
    if e.default == UNSIGNED:
        cls = resolve(owner_name.split(".")[0]) if owner_name.endswith(".__init__") else None
        if cls is not None and isinstance(inspect.getattr_static(cls, param, None), property):
            return  # a class's Args list naming one of its properties (Artifact's is_link)
        assert param in params or any(p.kind is p.VAR_KEYWORD for p in params.values()), (
            f"{owner_name}() does not accept the documented argument {param!r}")
        return
    assert param in params, f"{owner_name}() has no parameter {param!r}: {sig}"
    p = params[param]
    assert p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY), f"{param}: {p.kind}"
    if e.default == REQUIRED:
        assert p.default is p.empty, f"{param} should be required, has default {p.default!r}"
    elif e.default.startswith("<function "):
        assert callable(p.default), f"{param}'s default should be a function: {p.default!r}"
    else:
        assert same(p.default, ast.literal_eval(e.default)), (
            f"{param}'s default is {p.default!r}, documented {e.default}")
    # In the documented order (so positional calls mean what the seed says).
    documented = [n for n, d in owner.params if d != UNSIGNED]
    order = [n for n in params if n in documented]
    assert order == [n for n in documented if n in params], (
        f"{owner_name}() parameters are in the order {order}, documented {documented}")
    if p.kind is p.POSITIONAL_OR_KEYWORD:
        positional = [n for n, q in params.items() if q.kind is q.POSITIONAL_OR_KEYWORD
                      and n not in ("self", "cls")]
        upto = documented.index(param) + 1
        assert positional[:upto] == documented[:upto], f"{owner_name}() positional order"


def check_setting(e: Element) -> None:
    field = e.name.split(".", 1)[1]
    value = good_value(field, e.type)
    want = read_back(field, value)
    s = trackd.Settings(**{field: value})
    got = getattr(s, field)
    assert same(got, want), f"Settings({field}={value!r}).{field} = {got!r}, expected {want!r}"
    s2 = trackd.Settings()
    s2.update_from_dict({field: value})
    assert same(getattr(s2, field), want)
    if want is not value:  # the parsed form is accepted as it is
        assert same(getattr(trackd.Settings(**{field: want}), field), want)


@pytest.mark.parametrize("element", ELEMENTS, ids=lambda e: e.name)
def test_element(element: Element, art_sdk, monkeypatch,  # type: ignore[no-untyped-def]
                 record_property) -> None:
    record_property("seed_element", element.name)
    checks = CHECKS.get(element.name, [])
    if element.kind == "argument":
        check_argument(element)
    elif element.kind == "setting":
        check_setting(element)
    else:
        assert checks, f"no check registered for {element.kind} {element.name}"
    ctx = Ctx(art_sdk, monkeypatch)
    for fn in checks:
        run_once(fn, ctx)


#: A check shared by several elements runs once; each of them gets its outcome.
_outcomes: dict[Any, BaseException | None] = {}


def run_once(fn: Any, ctx: Ctx) -> None:
    if fn not in _outcomes:
        try:
            fn(ctx)
            _outcomes[fn] = None
        except (Exception, pytest.fail.Exception) as exc:
            _outcomes[fn] = exc
        finally:
            trackd.teardown()
    exc = _outcomes[fn]
    if exc is not None:
        raise exc


SETTINGS = [e for e in ELEMENTS if e.kind == "setting"]


@pytest.mark.parametrize("element", SETTINGS, ids=lambda e: e.name)
def test_setting_refuses_bad_value(element: Element,  # type: ignore[no-untyped-def]
                                   record_property) -> None:
    """A value of the wrong type (or outside the documented choices) is refused."""
    record_property("seed_element", element.name)
    field = element.name.split(".", 1)[1]
    bad = bad_value(field, element.type)
    with pytest.raises((trackd.errors.UsageError, TypeError, ValueError)):
        trackd.Settings(**{field: bad})


def test_every_element_is_checked_or_owned() -> None:
    """Each class, method, property and function has a check, or belongs to issue 16-18."""
    missing = [e.name for e in elements() if e.kind in ("class", "method", "property", "function")
               and e.owner is None and e.name not in CHECKS]
    assert not missing, f"elements without a check: {missing}"
    unknown = sorted(set(CHECKS) - set(by_name()))
    assert not unknown, f"checks registered for names the inventory lacks: {unknown}"
