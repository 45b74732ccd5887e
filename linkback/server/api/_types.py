"""Route parameters and response models derived from the registered functions and the one schema.

A function's annotations say what each parameter takes; they become the route's query
parameters or JSON body, with the same names and defaults. Report rows become pydantic models
whose field types come from the column of the same name in :mod:`linkback.schema`.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import operator
import sys
import types
import typing
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Union

import pyarrow as pa
import typing_extensions
from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, create_model

from linkback import schema
from linkback.faces import Face

_SCALARS = (str, int, float, bool)


class _Names(dict):
    """Names for evaluating an annotation: the function's module, builtins, else ``Any``
    (a type only imported for type checking, such as ``Target``, reads as "anything")."""

    def __init__(self, module: dict[str, Any]) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, key: str) -> Any:
        if key in self.module:
            return self.module[key]
        return getattr(builtins, key, Any)


def _annotation(fn: Any, param: inspect.Parameter) -> Any:
    annotation = param.annotation
    if isinstance(annotation, str):
        module = sys.modules[fn.__module__].__dict__
        try:
            annotation = eval(annotation, {"__builtins__": builtins}, _Names(module))  # noqa: S307 - our own source
        except Exception:  # noqa: BLE001 - an annotation we cannot read is not exposed
            return Any
    return annotation


def api_type(annotation: Any) -> tuple[Any, bool] | None:
    """(the type a route takes, whether it is a list) for a parameter's annotation; None for one
    that JSON cannot carry (an object the Python API takes), which the route leaves out."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        mapped = [m for m in (api_type(a) for a in members) if m is not None]
        if not mapped:
            return None
        listed = [m for m in mapped if m[1]]
        return (listed[0] if listed else mapped[0])[0], bool(listed)
    if origin in (list, tuple, set, frozenset, Sequence) or (
        origin is not None and isinstance(origin, type) and issubclass(origin, Sequence)
    ):
        args = typing.get_args(annotation)
        inner = api_type(args[0]) if args else (str, False)
        return (inner[0], True) if inner is not None else None
    if annotation is Path:
        return str, False
    if typing.is_typeddict(annotation) or typing_extensions.is_typeddict(annotation):
        return annotation, False
    if annotation is dict or origin is dict:
        return dict, False
    if annotation in _SCALARS:
        return annotation, False
    return None


def _keywords(fn: Any, param: inspect.Parameter) -> list[inspect.Parameter]:
    """``**filters: Unpack[SomeTypedDict]`` as the keyword parameters it stands for (a bool
    defaults to False, anything else to None); other ``**kwargs`` take nothing from the API."""
    annotation = _annotation(fn, param)
    if typing.get_origin(annotation) is not typing.Unpack:
        return []
    (typed,) = typing.get_args(annotation)
    hints = typing.get_type_hints(typed)
    return [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=hint, default=False if hint is bool else None)
        for name, hint in hints.items()
    ]


@functools.cache
def parameters(face: Face) -> tuple[inspect.Parameter, ...]:
    """What a caller gives the function, keyword groups (``**filters``) spelled out. Cached: every
    request reads it, and a signature does not change while the server runs."""
    out: list[inspect.Parameter] = []
    for param in face.parameters():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out += _keywords(face.fn, param)
        elif param.kind is not inspect.Parameter.VAR_POSITIONAL:
            out.append(param)
    return tuple(out)


@functools.cache
def exposed(face: Face) -> tuple[tuple[inspect.Parameter, Any], ...]:
    """The parameters a route takes and the type each has on the wire (cached, as :func:`parameters`)."""
    out = []
    for param in parameters(face):
        mapped = api_type(_annotation(face.fn, param))
        if mapped is None:
            if param.default is inspect.Parameter.empty:
                raise TypeError(f"{face.name}: parameter {param.name} cannot be carried by the API")
            continue
        typ, listed = mapped
        wire = list[typ] if listed else typ  # type: ignore[valid-type]
        if param.default is None or (param.default is not inspect.Parameter.empty and listed):
            wire = wire | None
        out.append((param, wire))
    return tuple(out)


def body_signature(model: type[BaseModel]) -> inspect.Signature:
    """``(request, body: model)``: the signature of a route that takes its parameters as a JSON body."""
    from fastapi import Request  # noqa: PLC0415

    return inspect.Signature(
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
        ]
    )


#: A JSON body's numbers and booleans are taken as they are, not coerced: ``"budget": true`` is
#: no budget of 1 s, nor ``"limit": "5"`` a number (a query string's are all text, and are).
_STRICT: dict[Any, Any] = {int: StrictInt, float: StrictFloat, bool: StrictBool}


def _strict(wire: Any) -> Any:
    """``wire`` (``X``, ``list[X]``, either ``| None``) with its numbers and booleans strict."""
    if wire in _STRICT:
        return _STRICT[wire]
    origin, args = typing.get_origin(wire), typing.get_args(wire)
    if origin is list:
        return list[_strict(args[0])]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, (_strict(a) for a in args))
    return wire


def body_model(face: Face) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for param, wire in exposed(face):
        wire = _strict(wire)
        default = param.default
        if default is inspect.Parameter.empty:
            default = ...
        elif isinstance(default, tuple):
            default = list(default)
        fields[param.name] = (wire, default)
    # NaN and infinities are no values a function takes (and JSON cannot carry them back).
    return create_model(f"{face.name}_params", __config__=ConfigDict(allow_inf_nan=False), **fields)


_ARROW_PY = {
    pa.string(): str,
    pa.int16(): int,
    pa.int32(): int,
    pa.int64(): int,
    pa.uint64(): int,
    pa.float64(): float,
    pa.bool_(): bool,
}


def _column_type(name: str) -> Any:
    for table in schema.TABLES.values():
        if name in table.names:
            typ = table.field(name).type
            return datetime if pa.types.is_timestamp(typ) else _ARROW_PY.get(typ, Any)
    return Any


def row_model(face: Face) -> type[BaseModel] | None:
    """A report's row, typed from the schema's column of the same name (``Any`` for a computed one)."""
    if not face.columns:
        return None
    fields = {name: (_column_type(name) | None, None) for name in face.columns}
    return create_model(f"{face.name}_row", **fields)  # type: ignore[call-overload]


def sort_asked(face: Face, values: dict[str, Any]) -> str | None:
    """The sort a call asks for: the one given, else the function's default (None: it has none)."""
    default = next((p.default for p in parameters(face) if p.name == "sort"), None)
    return values.get("sort") or default


def given(face: Face, values: dict[str, Any]) -> dict[str, Any]:
    """The values to call the function with: a None the caller left for a parameter whose default
    is not None means "the default"."""
    defaults = {p.name: p.default for p in parameters(face)}
    return {k: v for k, v in values.items() if v is not None or defaults.get(k) is None}
