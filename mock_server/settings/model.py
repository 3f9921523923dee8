"""The settings model's machinery: sections, fields with their metadata, checks, loading.

A section is a frozen dataclass (:class:`Section`); each field is declared with :func:`setting`
(default, description, optional check and CLI flag) or :func:`section` (a nested section). Loading
a raw mapping (:func:`load`) merges it over the defaults, rejects unknown keys with their path,
runs every field's check, builds the frozen object and runs the section's cross-field
``validate``. Lists become tuples, so nothing in a built model can be changed in place.

Why frozen dataclasses rather than marshmallow schemas loading into them: every field would then
be declared twice (a schema field and a dataclass field), the very duplication issue 17 removes;
the checks must keep their exact, already-documented messages (marshmallow would need one custom
validator per field anyway); and a dataclass is what the code reads (``settings.jelou.max_rows``,
typed, no ``load`` step in between). Field metadata carries the description the settings table (docs/settings.md)
is generated from (``mock_server.settings.table``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, TypeVar

import yaml

S = TypeVar("S", bound="Section")
Check = Callable[[Any, str], None]          # (value, "section.key") -> None, or raise SettingsError


class SettingsError(ValueError):
    """A config file or value the mock cannot use; the message names the key.

    ``key`` is the setting's path; ``flag_problem`` (when set) is the same problem worded for a
    command-line flag whose parser already made the value a number (``must be at least 1, not 0``).
    """

    def __init__(self, message: str, *, key: str | None = None, flag_problem: str | None = None) -> None:
        super().__init__(message)
        self.key, self.flag_problem = key, flag_problem

    def for_flag(self, flag: str) -> str:
        """The message naming ``flag`` (``--port``) instead of the setting."""
        if self.flag_problem:
            return f"{flag} {self.flag_problem}"
        text = str(self)
        return flag + text[len(self.key):] if self.key and text.startswith(self.key) else text


def setting(default: Any, doc: str, *, check: Check | None = None, shown: str | None = None,
            flag: str | None = None, factory: Callable[[], Any] | None = None) -> Any:
    """A settings field: its default (or a ``factory`` making it), its description (the row of the settings table),
    an optional ``check``, ``shown`` (the default as the table writes it) and ``flag``
    (``mock-server --<flag>``)."""
    metadata = {"doc": doc, "check": check, "shown": shown, "flag": flag}
    if factory is not None:
        return dataclasses.field(default_factory=lambda: freeze(copy.deepcopy(factory())), metadata=metadata)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: freeze(copy.deepcopy(default)), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def section(kind: type[Section], doc: str = "") -> Any:
    """A nested section field (``delivery``, ``webhooks``, a provider's section)."""
    return dataclasses.field(default_factory=lambda: load(kind, {}), metadata={"section": kind, "doc": doc})


def freeze(value: Any) -> Any:
    """Lists (at any depth) as tuples; mappings stay mappings (entries of the tenant lists)."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    if isinstance(value, Mapping):
        return {key: freeze(item) for key, item in value.items()}
    return value


def thaw(value: Any) -> Any:
    """The plain-data form of a model value: sections as dicts, tuples as lists."""
    if isinstance(value, Section):
        return {f.name: thaw(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    return value


class Section:
    """Base of every settings section (subclasses are ``@dataclass(frozen=True)``)."""

    # extra table rows for keys inside list entries: (key, default shown, description)
    table_notes: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def validate(self, where: str) -> None:
        """Cross-field checks; raise ``SettingsError`` naming the keys (``where``: this section's path)."""

    def as_dict(self) -> dict[str, Any]:
        """The plain dict (JSON/YAML-ready) of this section."""
        return thaw(self)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def load(kind: type[S], raw: Mapping[str, Any] | None, path: str = "") -> S:
    """``kind`` with ``raw`` merged over its defaults, checked (the one validator)."""
    raw = {} if raw is None else raw
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise SettingsError(f"unknown setting '{_join(path, key)}' (known here: {known})")
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        where = _join(path, name)
        nested = spec.metadata.get("section")
        if nested is not None:
            value = raw.get(name)
            if value is not None and not isinstance(value, Mapping):
                raise SettingsError(f"setting '{where}' must be a mapping")
            values[name] = load(nested, value, where)  # None ("delivery:" in YAML) keeps the defaults
            continue
        if name in raw:
            value = raw[name]
        else:
            value = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()
        check_value(spec, value, where)
        values[name] = freeze(copy.deepcopy(value))
    built = kind(**values)
    built.validate(path)
    return built


def check_value(spec: dataclasses.Field, value: Any, where: str) -> None:
    """Run a field's own check on ``value`` (the CLI calls this for the flags it parsed)."""
    check = spec.metadata.get("check")
    if check is not None:
        check(value, where)


def field_at(kind: type[Section], path: str) -> dataclasses.Field:
    """The field at the dotted ``path`` below ``kind`` (``server.port``)."""
    head, _, rest = path.partition(".")
    spec = {f.name: f for f in dataclasses.fields(kind)}[head]
    return field_at(spec.metadata["section"], rest) if rest else spec


def walk(kind: type[Section], path: str = ""):
    """``(path, field)`` for every leaf field below ``kind``, in declaration order."""
    for spec in dataclasses.fields(kind):
        where = _join(path, spec.name)
        nested = spec.metadata.get("section")
        if nested is not None:
            yield from walk(nested, where)
        else:
            yield where, spec


# -- checks (each message names the key, as the docs and the tests quote them) -------------------

def _is_number(value: Any, integer: bool = False) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int,) if integer else (int, float))


def number(minimum: float, maximum: float | None = None, *, integer: bool = False) -> Check:
    """A number (or an integer) within bounds."""
    def check(value: Any, where: str) -> None:
        if _is_number(value, integer) and value >= minimum and (maximum is None or value <= maximum):
            return
        kind = "an integer" if integer else "a number"
        limits = f"between {minimum:g} and {maximum:g}" if maximum is not None else f">= {minimum:g}"
        words = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
        raise SettingsError(f"{where} must be {kind} {limits}, not {value!r}", key=where,
                            flag_problem=f"must be {words}, not {value!r}" if _is_number(value, integer) else None)
    return check


def positive(*, integer: bool, words: str | None = None) -> Check:
    """A number above 0 (``integer``: a whole one, 3.0 included)."""
    def check(value: Any, where: str) -> None:
        if not _is_number(value) or value <= 0 or (integer and value != int(value)):
            raise SettingsError(f"{where} must be a positive {words or ('whole number' if integer else 'number')}",
                                key=where)
    return check


def positive_integer(value: Any, where: str) -> None:
    if not _is_number(value, integer=True) or value <= 0:
        raise SettingsError(f"{where} must be a positive integer", key=where)


def share(*, above_zero: bool = False, message: str | None = None) -> Check:
    """A share: from 0 (or above 0) to 1."""
    def check(value: Any, where: str) -> None:
        if not _is_number(value) or value > 1 or value < 0 or (above_zero and value == 0):
            raise SettingsError(f"{where} {message or 'must be between 0 and 1'}", key=where)
    return check


def one_of(*choices: str) -> Check:
    def check(value: Any, where: str) -> None:
        if value not in choices:
            raise SettingsError(f"{where} must be " + " or ".join(f"'{choice}'" for choice in choices), key=where)
    return check


def strings(value: Any, where: str) -> None:
    if not isinstance(value, (list, tuple)) or not all(isinstance(entry, str) and entry.strip() for entry in value):
        raise SettingsError(f"{where} must be a list of non-empty strings", key=where)


def all_of(*checks: Check) -> Check:
    def check(value: Any, where: str) -> None:
        for one in checks:
            one(value, where)
    return check


def data_file(package: str, name: str) -> Callable[[str], Callable[[], Any]]:
    """Defaults kept in a YAML file inside ``package`` (a provider's demo tenant): read once, when
    first needed; ``data_file(...)(key)`` is the factory of one top-level key's value."""
    @functools.lru_cache(maxsize=1)
    def read() -> dict[str, Any]:
        return yaml.safe_load(resources.files(package).joinpath(name).read_text(encoding="utf-8"))

    return lambda key: lambda: read()[key]


# -- config files ------------------------------------------------------------------------------

def load_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON settings file (by extension; YAML is a superset for anything else)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SettingsError(f"config file {path} must hold a mapping at the top level")
    return dict(data)
