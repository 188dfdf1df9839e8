"""Records to plain rows and back (for SQLite and JSON): enums by value, nested records and tuples as JSON.

Thread contract: pure functions, safe from any thread.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
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
    origin = typing.get_origin(tp)
    if value is None:
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_plain(tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(args[0], v) for v in value)
        return tuple(_from_plain(a, v) for a, v in zip(args, value, strict=False))
    if tp is bool:
        return bool(value)
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    if tp is str:
        return str(value)
    return value


def from_plain(cls: type[Any], data: dict[str, Any]) -> Any:
    """Build a record of ``cls`` from :func:`to_plain` output; unknown keys are ignored."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _from_plain(hints[f.name], data[f.name])
    return cls(**kwargs)


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
    hints = _hints(cls)
    data: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in row:
            continue
        value = row[f.name]
        tp = hints[f.name]
        is_composite = (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or typing.get_origin(
            tp
        ) is tuple
        if is_composite and isinstance(value, str):
            value = json.loads(value)
        data[f.name] = value
    return from_plain(cls, data)


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
