"""Settings of an analysis or a training run: a frozen dataclass whose fields carry what a form,
``cnnviz run --set`` / ``--help``, a session and a caption need to know of them.

Each field is declared with :func:`setting`, which stores a :class:`Meta` (label, help text, unit,
range or choices) in the field's metadata. A settings class derives from :class:`SettingsBase`, whose
``__post_init__`` checks every value against its metadata and raises a ``ValueError`` that names the
field and what would work. Settings are never changed in place: :func:`dataclasses.replace` (which
checks again) gives new ones.

Supported value types: ``bool``, ``int``, ``float``, ``str``, ``int | None``, ``float | None`` and tuples
of ``str``, ``int`` or ``float`` (written ``a,b,c`` on the command line).
"""

import dataclasses
import json
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

NONE_TEXTS = ("", "none", "auto", "default")
"""Texts that mean ``None`` for an optional setting on the command line."""
TRUE_TEXTS = ("1", "true", "yes", "on")
FALSE_TEXTS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Meta:
    """What a setting is: ``label`` (a form's label), ``help`` (one or two sentences: tooltips and
    ``--help``), ``unit`` (``"px"``, ``"°"``…, empty for none), ``low``/``high`` (inclusive bounds of a
    number, or of each item of a tuple), ``choices`` (the allowed values of a text, or of each item of a
    tuple), ``caption`` (False: left out of captions, e.g. a display-only colormap), ``none`` (what
    ``None`` means, for an optional setting: ``"strongest"``, ``"the top class"``)."""

    label: str
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    caption: bool = True
    none: str = ""


def setting(default: Any, *, label: str, help: str, unit: str = "", low: float | None = None,
            high: float | None = None, choices: tuple[Any, ...] = (), caption: bool = True,
            none: str = "") -> Any:
    """A dataclass field with ``default`` and its :class:`Meta` (see there for the arguments)."""
    meta = Meta(label, help, unit, low, high, tuple(choices), caption, none)
    return dataclasses.field(default=default, metadata={"cnnviz": meta})


@dataclass(frozen=True)
class Info:
    """One field of a settings class: its ``name``, declared ``type``, ``default`` and :class:`Meta`."""

    name: str
    type: Any
    default: Any
    meta: Meta

    @property
    def optional(self) -> bool:
        """True if ``None`` is allowed."""
        return type(None) in typing.get_args(self.type)

    @property
    def base(self) -> Any:
        """The type without ``None``: ``int``, ``float``, ``bool``, ``str`` or ``tuple[...]``."""
        args = [a for a in typing.get_args(self.type) if a is not type(None)]
        if isinstance(self.type, types.UnionType) or typing.get_origin(self.type) is typing.Union:
            return args[0]
        return self.type

    @property
    def item(self) -> Any:
        """The item type of a tuple setting (None for a scalar)."""
        if typing.get_origin(self.base) is tuple:
            return typing.get_args(self.base)[0]
        return None

    def describe(self) -> str:
        """What the setting accepts, for ``--help``: its choices, range or type."""
        kind = self.item or self.base
        if self.meta.choices:
            text = "one of: " + ", ".join(str(c) for c in self.meta.choices)
        elif kind is bool:
            text = "true or false"
        elif self.meta.low is not None or self.meta.high is not None:
            low = "" if self.meta.low is None else f"{self.meta.low:g}"
            high = "" if self.meta.high is None else f"{self.meta.high:g}"
            text = f"{low}…{high}" + (f" {self.meta.unit}" if self.meta.unit else "")
        else:
            text = {int: "an integer", float: "a number", str: "text"}.get(kind, str(kind))
        if self.item is not None:
            text = f"a comma-separated list, each {text}"
        if self.optional:
            text += f"; none: {self.meta.none or 'the default'}"
        return text


def infos(cls: type) -> list[Info]:
    """The :class:`Info` of every field of the settings class ``cls`` declared with :func:`setting`, in order."""
    hints = typing.get_type_hints(cls)
    return [Info(f.name, hints[f.name], f.default, f.metadata["cnnviz"])
            for f in dataclasses.fields(cls) if "cnnviz" in f.metadata]


def info(cls: type, name: str) -> Info:
    """The :class:`Info` of field ``name`` of ``cls``; KeyError (naming the fields) if there is none."""
    for entry in infos(cls):
        if entry.name == name:
            return entry
    raise KeyError(f"{name}: no such parameter; parameters: {', '.join(i.name for i in infos(cls))}")


def _check_scalar(entry: Info, kind: Any, value: Any) -> Any:
    name, meta = entry.name, entry.meta
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: {value!r} is not true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ValueError(f"{name}: {value!r} is not an integer")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: {value!r} is not a number")
        value = float(value)
        if value != value:
            raise ValueError(f"{name}: NaN is not a value")
    elif kind is str and not isinstance(value, str):
        raise ValueError(f"{name}: {value!r} is not text")
    if meta.choices and value not in meta.choices:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(str, meta.choices))}")
    if (meta.low is not None and value < meta.low) or (meta.high is not None and value > meta.high):
        low = "" if meta.low is None else f"{meta.low:g}"
        high = "" if meta.high is None else f"{meta.high:g}"
        raise ValueError(f"{name}: {value!r} is outside {low}…{high}" + (f" {meta.unit}" if meta.unit else ""))
    return value


def checked(entry: Info, value: Any) -> Any:
    """``value`` checked (and converted: an int where a float is declared, a list to a tuple) against
    ``entry``; raises ValueError naming the field and what would work."""
    if value is None:
        if entry.optional:
            return None
        raise ValueError(f"{entry.name}: a value is needed ({entry.describe()})")
    if entry.item is not None:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{entry.name}: {value!r} is not a list")
        return tuple(_check_scalar(entry, entry.item, v) for v in value)
    return _check_scalar(entry, entry.base, value)


class SettingsBase:
    """Base of every analysis's frozen ``Settings`` dataclass: checks each field on construction."""

    def __post_init__(self) -> None:
        for entry in infos(type(self)):
            value = checked(entry, getattr(self, entry.name))
            object.__setattr__(self, entry.name, value)
        self.check()

    def check(self) -> None:
        """Checks between fields (subclasses): raise ValueError naming the fields."""

    def replace(self, **changes: Any) -> Self:
        """New settings with ``changes`` (checked); these stay as they are."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def values(self) -> dict[str, Any]:
        """Every field's value by name, JSON-ready (tuples as lists)."""
        return {e.name: list(v) if isinstance(v := getattr(self, e.name), tuple) else v for e in infos(type(self))}

    def caption_fields(self) -> dict[str, Any]:
        """The fields that shape the result (those whose :attr:`Meta.caption` is True), by name."""
        return {e.name: getattr(self, e.name) for e in infos(type(self)) if e.meta.caption}


def parse_text(entry: Info, text: str) -> Any:
    """The value the command-line ``text`` gives setting ``entry`` (``--set name=text``); raises
    ValueError naming the field and what would work."""
    text = text.strip()
    if entry.optional and text.lower() in NONE_TEXTS:
        return None
    if entry.item is not None:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return checked(entry, [_parse_scalar(entry, entry.item, p) for p in parts])
    return checked(entry, _parse_scalar(entry, entry.base, text))


def _parse_scalar(entry: Info, kind: Any, text: str) -> Any:
    if kind is bool:
        if text.lower() in TRUE_TEXTS:
            return True
        if text.lower() in FALSE_TEXTS:
            return False
        raise ValueError(f"{entry.name}: {text!r} is not true or false")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise ValueError(f"{entry.name}: {text!r} is not {noun} ({entry.describe()})") from None
    return text


def from_texts(cls: type[Any], texts: Mapping[str, str], base: Any = None) -> Any:
    """Settings of ``cls`` (starting from ``base``, default ``cls()``) with the command-line values
    ``texts`` ({name: text}); KeyError for an unknown name, ValueError for a bad value."""
    changes = {name: parse_text(info(cls, name), text) for name, text in texts.items()}
    start = base if base is not None else cls()
    return dataclasses.replace(start, **changes)


def from_json(cls: type[Any], values: Mapping[str, Any]) -> tuple[Any, dict[str, str]]:
    """Settings of ``cls`` from a JSON dict (a session's), keeping every field that checks; returns the
    settings and {name: reason} for each field dropped (unknown, or a bad value: the default stays)."""
    known = {e.name: e for e in infos(cls)}
    kept: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for name, value in values.items():
        if name not in known:
            dropped[name] = "no such setting"
            continue
        try:
            kept[name] = checked(known[name], value)
        except ValueError as error:
            dropped[name] = str(error)
    try:
        return cls(**kept), dropped
    except ValueError as error:
        return cls(), dropped | {"*": f"the settings did not fit together ({error}); defaults used"}


def to_json(settings: SettingsBase) -> str:
    """``settings`` as a JSON object text."""
    return json.dumps(settings.values(), sort_keys=False)


def help_lines(cls: type, defaults: Any = None) -> Iterator[str]:
    """``--help`` lines for every field of ``cls``: ``name = default`` then what it accepts and its help
    (``defaults``: settings whose values are shown as the defaults, e.g. resolved for a model)."""
    current = defaults if defaults is not None else cls()
    for entry in infos(cls):
        value = getattr(current, entry.name)
        shown = ",".join(map(str, value)) if isinstance(value, tuple) else ("none" if value is None else value)
        yield f"  {entry.name} = {shown}"
        yield f"      {entry.meta.label}: {entry.describe()}. {entry.meta.help}"
