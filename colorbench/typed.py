"""Strict conversion of plain YAML data into typed dataclasses.

Unknown keys, wrong types and missing required fields raise FieldError naming the key path;
nothing is coerced silently (an int is accepted where a float is expected, nothing else).
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union


class FieldError(ValueError):
    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, key)
            except FieldError as exc:
                errors.append(str(exc))
        raise FieldError(key, errors[0] if len(errors) == 1 else f"expected {' or '.join(map(_type_name, options))}, got {value!r}")
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FieldError(key, f"must be one of {', '.join(map(repr, args))}, got {value!r}{hint}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise FieldError(key, f"expected a list, got {type(value).__name__}")
        return [_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise FieldError(key, f"expected a list of {len(args)} values, got {value!r}")
        return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise FieldError(key, f"expected a mapping, got {type(value).__name__}")
        return {str(k): _convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(key, f"expected a number, got {value!r}")
        return float(value)
    if tp is int or tp is bool or tp is str:
        if type(value) is not tp:
            raise FieldError(key, f"expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported field type {tp!r} at {key}")


def from_dict(cls: type, data: Any, key: str = "") -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys with a did-you-mean."""
    if not isinstance(data, dict):
        raise FieldError(key or "(top level)", f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    prefix = f"{key}." if key else ""
    for k in data:
        if k not in names:
            close = difflib.get_close_matches(str(k), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FieldError(f"{prefix}{k}", f"unknown key{hint}")
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in data:
            values[f.name] = _convert(data[f.name], hints[f.name], f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise FieldError(f"{prefix}{f.name}", "required key is missing")
    try:
        return cls(**values)
    except FieldError as exc:  # raised by __post_init__ checks, keyed relative to cls
        raise FieldError(f"{prefix}{exc.key}", str(exc)) from None


def require(condition: bool, key: str, message: str) -> None:
    """For __post_init__: reject an impossible value, naming its key."""
    if not condition:
        raise FieldError(key, message)


def to_dict(obj: Any) -> Any:
    """A dataclass as plain JSON-able data."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
