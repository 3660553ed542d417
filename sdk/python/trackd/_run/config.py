"""``run.config``: the run's hyperparameters, a dict-like object with attribute access.

Every change is sent to the daemon as a config record. Changing a key's value needs
``allow_val_change`` (as in W&B); setting the same value again is fine. Keys starting with
``_`` are kept but hidden from ``keys()``/``items()``. A change that would take the config over
its size limits (``trackd._shared.run_fields``) raises FieldTooLargeError and changes nothing.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trackd._base import messages
from trackd._base.limits import add_config
from trackd._base.terminal import visible
from trackd._shared.run_fields import ConfigSize
from trackd._shared.values import normalize, values_equal
from trackd.errors import ConfigError, UsageError


def config_value(value: Any) -> Any:
    """Make a config value storable. Config is lenient (W&B stores anything): objects the
    value codec cannot log are turned into dicts (``to_dict()``, dataclasses, ``vars()``) or,
    last, their ``str()``."""
    try:
        return normalize(value, "config value")
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):  # not valid Unicode (lone surrogates): keep it, escaped
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, enum.Enum):
        return config_value(value.value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return config_value(value.to_dict())
        except Exception:  # noqa: BLE001 - fall through to str()
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_value(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): config_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [config_value(v) for v in value]
    if isinstance(value, int):  # beyond 64 bits
        return str(value)
    return str(value)


def _clean_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"config keys must be strings, got {key!r}")
    key = key.strip("-")
    if not key:
        raise UsageError("config keys must not be empty")
    return key


class _ConfigItems:
    """Reading a config's items (``_items``): by key, by attribute, and as a mapping whose
    keys starting with ``_`` are hidden. Shared by :class:`Config` and :class:`ConfigStatic`."""

    _items: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self) -> list[str]:
        return [k for k in self._items if not k.startswith("_")]

    def values(self) -> list[Any]:
        return [v for k, v in self._items.items() if not k.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Config(_ConfigItems):
    """The config of a run (see the module doc)."""

    def __init__(self) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", {})
        object.__setattr__(self, "_callback", None)
        object.__setattr__(self, "_allow_val_change", False)
        object.__setattr__(self, "_size", ConfigSize())
        object.__setattr__(self, "_settings", None)

    # -- wiring (used by Run) -------------------------------------------------------------------

    def _set_settings(self, settings: Any) -> None:
        """The run's settings: they decide whether the config's warnings are shown."""
        object.__setattr__(self, "_settings", settings)

    def _lock(self, data: Mapping[str, Any], user: str) -> None:
        """Set items that later updates may not change (W&B's locked keys: a sweep's
        parameters); such an update is ignored with a warning naming ``user``.

        :raises FieldTooLargeError: the config would be over its size limits.
        """
        self._load(data)
        self._locked.update({_clean_key(k): user for k in data})

    def _set_callback(self, callback: Callable[[dict[str, Any], list[str]], None] | None) -> None:
        object.__setattr__(self, "_callback", callback)

    def _set_allow_val_change(self, allow: bool) -> None:
        object.__setattr__(self, "_allow_val_change", bool(allow))

    def _load(self, data: Mapping[str, Any]) -> None:
        """Set items without value-change checks or records (init's initial config).

        :raises FieldTooLargeError: the config would be over its size limits.
        """
        self._apply({_clean_key(k): config_value(v) for k, v in data.items()})

    def _reset(self, data: Mapping[str, Any]) -> None:
        """Replace every item (the stored config of a resumed or forked run); see :meth:`_load`."""
        self._items.clear()
        object.__setattr__(self, "_size", ConfigSize())
        self._load(data)

    def _set_quietly(self, key: str, value: Any) -> None:
        """Set one item without a record (the caller sends it); see :meth:`_load`."""
        self._apply({key: value})

    def _apply(self, update: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
        """Change items once the change is known to fit the limits (all or nothing)."""
        change = self._size.change()
        add_config(change, update, remove)
        self._items.update(update)
        for key in remove:
            self._items.pop(key, None)
        change.commit()

    # -- mapping API ----------------------------------------------------------------------------

    def update(self, d: Any, allow_val_change: bool | None = None) -> None:
        """Set several keys. ``d`` may be a dict, an ``argparse.Namespace``,
        ``absl.flags.FLAGS`` or any object with ``__dict__``.

        :raises ConfigError: a key would change value without ``allow_val_change``.
        :raises FieldTooLargeError: the config would be over its size limits (nothing is set).
        """
        data = _as_dict(d)
        allow = self._allow_val_change if allow_val_change is None else allow_val_change
        changes: dict[str, Any] = {}
        for k, v in data.items():
            key = _clean_key(k)
            if key in self._locked:
                messages.warn(self._settings,
                    visible(f"Config item '{key}' was locked by '{self._locked[key]}' "
                    "(ignored update)."), stacklevel=3)
                continue
            value = config_value(v)
            if key in self._items and not allow and not values_equal(self._items[key], value):
                raise ConfigError(
                    f'Attempted to change value of key "{key}" from {self._items[key]!r} to '
                    f"{value!r}\nIf you really want to do this, pass allow_val_change=True to "
                    "config.update()"
                )
            changes[key] = value
        if not changes:
            return
        self._apply(changes)
        if self._callback is not None:
            self._callback(changes, [])

    def setdefaults(self, d: Any) -> None:
        """Set only the keys that are not set yet."""
        data = _as_dict(d)
        missing = {k: v for k, v in data.items() if _clean_key(k) not in self._items}
        if missing:
            self.update(missing)

    def as_dict(self) -> dict[str, Any]:
        """A copy of every item (hidden ones included)."""
        return dict(self._items)

    def persist(self) -> None:
        """Kept for W&B compatibility: every change is sent as it is made."""

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self._items:
            raise KeyError(key)
        self._apply({}, (key,))
        if self._callback is not None:
            self._callback({}, [key])

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})


class ConfigStatic(_ConfigItems):
    """``run.config_static``: a read-only view of the config as it was when read, with
    attribute and item access (``run.config_static.lr``, ``["lr"]``). As in W&B, its items are
    the object's ``__dict__`` (``vars(run.config_static)``), and it can be copied and pickled.
    Changing it raises AttributeError; change ``run.config`` instead."""

    def __init__(self, config: Config | Mapping[str, Any]) -> None:
        items = config.as_dict() if isinstance(config, Config) else dict(config)
        object.__setattr__(self, "__dict__", items)

    @property
    def _items(self) -> dict[str, Any]:  # type: ignore[override]
        return self.__dict__

    def __getattr__(self, key: str) -> Any:  # only reached for names not in __dict__
        if key.startswith("__"):
            raise AttributeError(key)
        raise AttributeError(f"config has no key {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConfigStatic, (dict(self.__dict__),))

    def __copy__(self) -> ConfigStatic:
        return ConfigStatic(self.__dict__)

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigStatic:
        import copy

        return ConfigStatic(copy.deepcopy(self.__dict__, memo))

    def _readonly(self, *_: Any) -> None:
        raise AttributeError("run.config_static is read-only; change run.config instead")

    __setattr__ = __delattr__ = __setitem__ = __delitem__ = _readonly


def _as_dict(d: Any) -> dict[str, Any]:
    if d is None:
        return {}
    if isinstance(d, Config):
        return d.as_dict()
    if isinstance(d, Mapping):
        return dict(d)
    if callable(getattr(d, "flag_values_dict", None)):  # absl.flags.FLAGS: the flags' values
        return dict(d.flag_values_dict())
    if hasattr(d, "__dict__"):
        return {k: v for k, v in vars(d).items() if not k.startswith("__")}
    raise TypeError(f"config must be a dict, a Namespace or an object with __dict__, got {type(d).__name__}")
