"""Records to plain rows and back (for SQLite and JSON): enums by value, nested records and tuples as JSON.

Thread contract: pure functions, safe from any thread.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import typing
from collections.abc import Callable
from typing import Any

from studio.core.project import ProjectSettings

_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def to_plain(value: Any) -> Any:
    """A JSON-able version of a record, enum, tuple or scalar."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    return value


def _from_plain(tp: Any, value: Any) -> Any:
    return _decoder(tp)(value)


def _none_or(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


@functools.cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    """A function turning a plain value into ``tp``, worked out once per type (loading a 10,000-line
    project decodes ~400,000 values: inspecting the type each time cost most of the open)."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _none_or(functools.partial(from_plain, tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _none_or(tp)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _decoder(args[0])
            return _none_or(lambda value: tuple(inner(v) for v in value))
        inners = tuple(_decoder(a) for a in args)
        return _none_or(lambda value: tuple(d(v) for d, v in zip(inners, value, strict=False)))
    if tp in (bool, float, int, str):
        return _none_or(tp)
    return lambda value: value


@functools.cache
def _plan(cls: Any) -> tuple[tuple[str, Callable[[Any], Any], bool], ...]:
    """Per field of ``cls``: its name, its decoder, and whether rows store it as JSON text."""
    hints = _hints(cls)
    plan = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        composite = (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or typing.get_origin(tp) is tuple
        plan.append((f.name, _decoder(tp), composite))
    return tuple(plan)


def from_plain(cls: type[Any], data: dict[str, Any]) -> Any:
    """Build a record of ``cls`` from :func:`to_plain` output; unknown keys are ignored."""
    return cls(**{name: decode(data[name]) for name, decode, _ in _plan(typing.cast(Any, cls)) if name in data})


def to_row(record: Any) -> dict[str, Any]:
    """A SQLite row: scalars as columns, nested records and tuples as JSON text, bools as 0/1."""
    row: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, enum.Enum):
            row[f.name] = value.value
        elif isinstance(value, bool):
            row[f.name] = int(value)
        elif isinstance(value, str | int | float) or value is None:
            row[f.name] = value
        else:
            row[f.name] = json.dumps(to_plain(value))
    return row


def from_row(cls: type[Any], row: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for name, decode, composite in _plan(typing.cast(Any, cls)):
        if name not in row:
            continue
        value = row[name]
        if composite and isinstance(value, str):
            value = json.loads(value)
        kwargs[name] = decode(value)
    return cls(**kwargs)


def column_types(cls: type[Any]) -> dict[str, type]:
    """SQLite column types for a record class."""
    types: dict[str, type] = {}
    for name, tp in _hints(cls).items():
        if tp in (int, bool):
            types[name] = int
        elif tp is float:
            types[name] = float
        else:
            types[name] = str
    return types


def settings_to_json(settings: ProjectSettings) -> str:
    return json.dumps(to_plain(settings))


def settings_from_json(text: str) -> ProjectSettings:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("project settings are not a JSON object")
    settings: ProjectSettings = from_plain(ProjectSettings, data)
    return settings
