"""Typed plain data: JSON values and override strings converted to annotated dataclass fields.

The machinery behind `spikejax.config`: `build` makes a dataclass from nested dicts
(checking every value against the field's annotation), `plain` turns one back into JSON data,
and `set_path` applies one ``dotted.key=value`` override, parsing the text by the type of the
field (or, inside a free-form dict, by the type of the value it replaces).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ["build", "coerce", "freeze", "parse", "plain", "set_path"]


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, where: str, fn: str) -> Any:
    """``value`` (plain Python/JSON data) as an instance of the annotation ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return freeze(value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where, fn)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"`{fn}`: `{where}` must be {_type_name(tp)}; got {value!r}.")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"`{fn}`: `{where}` must be a dict of {tp.__name__}; got {value!r}.")
        return build(tp, value, where, fn)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, list | tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                items = [coerce(v, args[0], f"{where}[{i}]", fn) for i, v in enumerate(value)]
                return tuple(items)
            if len(args) == len(value):
                return tuple(
                    coerce(v, a, f"{where}[{i}]", fn)
                    for i, (v, a) in enumerate(zip(value, args, strict=True))
                )
    elif origin in (dict, Mapping):
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return {k: freeze(v) for k, v in value.items()}
    raise ValueError(f"`{fn}`: `{where}` must be {_type_name(tp)}; got {value!r}.")


def freeze(value: Any) -> Any:
    """Free-form option values: lists become tuples (hashable, and JSON round-trips them)."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): freeze(v) for k, v in value.items()}
    return value


def build(cls: type, data: Mapping[str, Any], where: str, fn: str) -> Any:
    """The dataclass ``cls`` from a dict; missing keys take defaults, unknown keys raise.

    ``where`` is the dotted path of ``data`` used in messages, ``fn`` the function named there.
    """
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ValueError(
            f"`{fn}`: unknown key `{prefix}{unknown[0]}` for {cls.__name__}; valid keys: "
            f"{', '.join(sorted(names))}."
        )
    kwargs = {}
    for name in names:
        if name in data:
            sub = f"{where}.{name}" if where else name
            kwargs[name] = coerce(data[name], hints[name], sub, fn)
    return cls(**kwargs)


def plain(value: Any) -> Any:
    """Dataclasses as dicts and tuples as lists, recursively: JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


_NONE = ("none", "null")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def parse(text: str, tp: Any, where: str) -> Any:
    """An override's text as a value of the annotation ``tp``."""
    fn = "apply_overrides"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    stripped = text.strip()
    if origin in (typing.Union, types.UnionType):
        if stripped.lower() in _NONE and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse(text, arg, where)
            except ValueError:
                continue
        raise ValueError(f"`{fn}`: `{where}` must be {_type_name(tp)}; got {text!r}.")
    if tp is str:
        value = _literal(stripped)
        return value if isinstance(value, str) else stripped
    if tp is bool:
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ValueError(f"`{fn}`: `{where}` must be a bool (true/false); got {text!r}.")
    if tp is int:
        try:
            return int(stripped.replace("_", ""))
        except ValueError:
            raise ValueError(f"`{fn}`: `{where}` must be an int; got {text!r}.") from None
    if tp is float:
        try:
            value = float(stripped)
        except ValueError:
            raise ValueError(f"`{fn}`: `{where}` must be a float; got {text!r}.") from None
        if not math.isfinite(value):  # a run's config.json holds finite numbers only
            raise ValueError(f"`{fn}`: `{where}` must be a finite float; got {text!r}.")
        return value
    if origin is tuple:
        if stripped in ("", "()"):
            value: Any = ()
        else:
            body = stripped
            if not body.startswith(("(", "[")):
                body = f"({body},)"
            value = _literal(body)
            if isinstance(value, str):  # not a literal: a tuple of bare words, e.g. loihi,xylo
                value = tuple(part.strip() for part in body.strip("(),").split(",") if part.strip())
            elif not isinstance(value, list | tuple):
                value = (value,)
        return coerce(value, tp, where, fn)
    if tp is Any:
        if stripped.lower() in _NONE:
            return None
        if stripped.lower() in ("true", "false"):
            return stripped.lower() == "true"
        return freeze(_literal(stripped))
    return coerce(_literal(stripped), tp, where, fn)


def _like(existing: Any) -> Any:
    """The annotation used to parse a new value for an option that currently holds ``existing``."""
    if isinstance(existing, bool):
        return bool
    if isinstance(existing, int):
        return int | float | None
    if isinstance(existing, float):
        return float | None
    if isinstance(existing, str):
        return str | None
    if isinstance(existing, tuple):
        kinds = {type(v) for v in existing}
        if len(kinds) == 1 and next(iter(kinds)) in (bool, int, float, str):
            kind = next(iter(kinds))
            return tuple[int | float, ...] | None if kind is int else tuple[kind, ...] | None
        return tuple[Any, ...] | None
    return Any


def set_path(node: Any, keys: list[str], text: str, where: str) -> Any:
    """A copy of ``node`` (a frozen dataclass or an options dict) with the value at the key path
    ``keys`` parsed from ``text``; ``where`` is the dotted path of ``node`` used in messages."""
    fn = "apply_overrides"
    key, rest = keys[0], keys[1:]
    here = f"{where}.{key}" if where else key
    if dataclasses.is_dataclass(node):
        names = [f.name for f in dataclasses.fields(node)]
        if key not in names:
            raise ValueError(
                f"`{fn}`: unknown key `{here}` for {type(node).__name__}; valid keys at this "
                f"level: {', '.join(sorted(names))}."
            )
        current = getattr(node, key)
        if not rest and dataclasses.is_dataclass(current):
            fields = ", ".join(sorted(f.name for f in dataclasses.fields(current)))
            raise ValueError(
                f"`{fn}`: `{here}` is a group ({type(current).__name__}); set one of its keys: "
                f"{fields}."
            )
        if rest:
            if not (dataclasses.is_dataclass(current) or isinstance(current, dict)):
                raise ValueError(
                    f"`{fn}`: `{here}` is a value ({_type_name(_hints(type(node))[key])}), not a "
                    f"group; it has no key `{rest[0]}`."
                )
            value = set_path(current, rest, text, here)
        else:
            value = parse(text, _hints(type(node))[key], here)
        return dataclasses.replace(node, **{key: value})
    # A free-form options dict: only keys it already has can be set.
    if key not in node:
        valid = ", ".join(sorted(node)) or "(none)"
        raise ValueError(f"`{fn}`: unknown key `{here}`; valid keys at this level: {valid}.")
    current = node[key]
    if rest:
        if not isinstance(current, dict):
            raise ValueError(
                f"`{fn}`: `{here}` is a value, not a group; it has no key `{rest[0]}`."
            )
        value = set_path(current, rest, text, here)
    else:
        value = parse(text, _like(current), here)
    return {**node, key: value}
