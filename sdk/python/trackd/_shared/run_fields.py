"""Size limits of a run's own fields, shared by the SDK and the daemon.

A run's name, notes, tags, group, job type and config are kept whole in the run's row and
sent whole with the run (``GetRun``, every page of ``ListRuns``), so each has a limit: far
beyond what a real run needs, low enough that a run always fits a reply and a page. The SDK
checks them where the user sets a field (``trackd.errors.FieldTooLargeError``); the daemon
checks them again wherever a field arrives — ``CreateRun``, a fork's merged config, run
updates and config records in the record stream — and refuses INVALID_ARGUMENT naming the
field. W&B's own limits are lower (a tag is at most 64 characters there), so no W&B script
meets these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackd._shared.values import MAX_KEYS

#: Characters in a name, group or job type (a run id is at most 128; W&B's tags 64).
MAX_NAME_LENGTH = 256
#: Notes: UTF-8 bytes. A page of text is a few KiB; 1 MiB is a long lab notebook.
MAX_NOTES_BYTES = 1 << 20
#: Tags per run, and characters per tag (W&B allows 64).
MAX_TAGS = 1000
MAX_TAG_LENGTH = 256
#: Config: top-level keys (as many as one logged row may have) and bytes, as
#: :func:`wire_size` counts them (at least what the config takes encoded). A large model's
#: whole hyperparameter tree is tens of KiB, a vocabulary of 100,000 words about 1 MiB: more
#: belongs in files or artifacts. The bound keeps a run (with notes and tags at their limits
#: too) near 6 MiB, so a run always fits a reply and a few fit a page of ``ListRuns``.
MAX_CONFIG_KEYS = MAX_KEYS
MAX_CONFIG_BYTES = 4 << 20
#: The other strings a run keeps, in characters: a host name (DNS allows 253), the program's
#: path (Linux's PATH_MAX is 4096), the sweep id, the retry token of CreateRun and a shared
#: run's writer label.
TEXT_LIMITS = {
    "name": MAX_NAME_LENGTH, "group": MAX_NAME_LENGTH, "job_type": MAX_NAME_LENGTH,
    "host": 256, "program": 4096, "sweep_id": 256, "request_id": 256, "writer": 256,
}


class FieldLimitError(ValueError):
    """A run field is over its limit; ``field`` names it (``config``, ``tags``, ``notes``...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_field(field: str, value: str) -> None:
    """Check one of the run's strings: ``notes`` by its UTF-8 size, the others of
    ``TEXT_LIMITS`` by their length.

    :raises FieldLimitError: it is over its limit.
    """
    if field == "notes":
        # A character is at most 4 bytes: shorter notes need no encoding to be measured.
        if len(value) > MAX_NOTES_BYTES // 4:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > MAX_NOTES_BYTES:
                raise FieldLimitError("notes", f"notes are {size / (1 << 20):.1f} MiB; the limit "
                                               f"is {MAX_NOTES_BYTES >> 20} MiB")
        return
    limit = TEXT_LIMITS[field]
    if len(value) > limit:
        raise FieldLimitError(field, f"{field} is {len(value)} characters long ({value[:40]!r}...); "
                                     f"the limit is {limit}")


def check_tags(tags: Iterable[str]) -> None:
    """:raises FieldLimitError: more than ``MAX_TAGS`` tags, or a tag longer than
    ``MAX_TAG_LENGTH``."""
    tags = list(tags)
    if len(tags) > MAX_TAGS:
        raise FieldLimitError("tags", f"a run has at most {MAX_TAGS} tags, got {len(tags)}")
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise FieldLimitError("tags", f"tag {tag[:40]!r}... is {len(tag)} characters long; "
                                          f"the limit is {MAX_TAG_LENGTH}")


def check_run_fields(fields: Mapping[str, Any]) -> None:
    """Check the strings and tags among ``fields`` (other entries are left alone).

    :raises FieldLimitError: the first field over its limit.
    """
    for field, value in fields.items():
        if field == "tags":
            check_tags(value)
        elif field == "notes" or field in TEXT_LIMITS:
            check_field(field, value)


#: Bytes a value may take beyond its payload when encoded in a list or map: field tag and
#: length of the Value, tag of its kind, length of its string or of its list or map.
VALUE_OVERHEAD = 10
#: A number, bool or null: its overhead and at most a 10-byte varint (or an 8-byte double).
SCALAR_SIZE = VALUE_OVERHEAD + 10
#: A map key beyond its UTF-8 bytes: field tag and length.
KEY_OVERHEAD = 5


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def wire_size(value: Any) -> int:
    """At least the bytes a (normalised) value takes encoded as a ``trackd.v1.Value``: every
    value counts, empty ones too, so nothing large is measured small."""
    t = type(value)
    if t is str:
        return VALUE_OVERHEAD + _text_size(value)
    if t is dict:
        return VALUE_OVERHEAD + sum(entry_size(k, v) for k, v in value.items())
    if t is list:
        return VALUE_OVERHEAD + sum(map(wire_size, value))
    return SCALAR_SIZE


def entry_size(key: str, value: Any) -> int:
    """What one config entry counts toward ``MAX_CONFIG_BYTES``: see :func:`wire_size`."""
    return KEY_OVERHEAD + _text_size(key) + wire_size(value)


class ConfigSize:
    """How large a run's config is: its top-level keys and about how many bytes. Changes are
    measured through :meth:`change`, which costs what the change holds (not what the config
    holds), so that setting keys one at a time stays cheap."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._sizes: dict[str, int] = {}
        self.keys = 0
        self.bytes = 0
        if config:
            change = self.change()
            change.add(config, check=False)
            change.commit()

    def change(self) -> ConfigChange:
        """A change to measure (and, once it fits, to :meth:`ConfigChange.commit`)."""
        return ConfigChange(self)


class ConfigChange:
    """Config updates and removals measured against a :class:`ConfigSize`, applied to it by
    :meth:`commit`. One change may hold several updates (a batch of config records)."""

    def __init__(self, base: ConfigSize) -> None:
        self._base = base
        self._overlay: dict[str, int | None] = {}  # key -> its new size, None: removed
        self.keys = base.keys
        self.bytes = base.bytes

    def _current(self, key: str) -> int | None:
        return self._overlay[key] if key in self._overlay else self._base._sizes.get(key)

    def add(self, update: Mapping[str, Any], remove: Iterable[str] = (), *,
            check: bool = True) -> None:
        """Measure ``update`` then ``remove`` (the order the daemon applies a config record).

        :raises FieldLimitError: the config would have more than ``MAX_CONFIG_KEYS`` keys or
            ``MAX_CONFIG_BYTES`` bytes (the change is then unusable).
        """
        for key, value in update.items():
            size = entry_size(key, value)
            old = self._current(key)
            if old is None:
                self.keys += 1
            else:
                self.bytes -= old
            self.bytes += size
            self._overlay[key] = size
        for key in remove:
            old = self._current(key)
            if old is not None:
                self.keys -= 1
                self.bytes -= old
                self._overlay[key] = None
        if not check:
            return
        if self.keys > MAX_CONFIG_KEYS:
            raise FieldLimitError("config", f"a config has at most {MAX_CONFIG_KEYS} keys; this "
                                            f"one would have {self.keys}")
        if self.bytes > MAX_CONFIG_BYTES:
            raise FieldLimitError(
                "config", f"a config is at most {MAX_CONFIG_BYTES >> 20} MiB; this one would be "
                          f"about {self.bytes / (1 << 20):.1f} MiB (keep large data in files or "
                          "artifacts)")

    def commit(self) -> None:
        """Apply the change to the size it was made from."""
        sizes = self._base._sizes
        for key, size in self._overlay.items():
            if size is None:
                sizes.pop(key, None)
            else:
                sizes[key] = size
        self._base.keys, self._base.bytes = self.keys, self.bytes
        self._overlay = {}
