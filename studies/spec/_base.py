"""What every spec section shares (private): pydantic settings, fields that apply only to some
names, pydantic's errors as one :class:`SpecError`, and the canonical plain form.

Typing rules, the same for YAML and for Python values: the models are ``strict``, so an int
field refuses ``true`` and ``10.0``, a float field takes an int or a float but never a bool,
a string, inf or nan, and strings are never read as numbers. Tuple fields say
``strict=False``: a list is accepted and stored as a tuple, its items still strict.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.catalog import MODEL_FIELDS, ModelSpec, SpecError, show

_EXTRA = ("when", "applies_when", "form", "pattern_text", "uniqueItems")


def about(title: str, description: str, default: Any = ..., **options: Any) -> Any:
    """A pydantic ``Field`` with its title and one-sentence description. The ``_EXTRA`` keys go
    to the JSON Schema: ``when`` (``{sibling: [values]}``: the field exists only then, see
    :class:`Section`), ``applies_when`` (the same, but only telling forms when it matters),
    ``form`` (how a section is drawn), ``pattern_text`` (a pattern in words), ``uniqueItems``."""
    extra = {key: options.pop(key) for key in _EXTRA if key in options}
    if isinstance(default, tuple) and default and isinstance(default[0], BaseModel):
        extra["default"] = plain(default)  # as to_dict writes it, not with nulls
    return Field(default, title=title, description=description, json_schema_extra=extra or None,
                 **options)


def path_of(loc: Iterable[str | int]) -> str:
    """The dotted path of a location: ``("schedules", 1, "t0")`` → ``"schedules[1].t0"``; the
    dashboard's form keys its widgets by the same strings."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def join(prefix: str, name: str) -> str:
    """``join("data", "train_size") == "data.train_size"``; list indices attach bare."""
    if not prefix or not name:
        return prefix or name
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"


def refuse_inapplicable(noun: str, values: Mapping[str, Any], given: Iterable[str],
                        extras: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse the first ``given`` field whose ``when`` does not hold for ``values``."""

    def applies(name: str) -> bool:
        return all(values.get(k) in v for k, v in extras[name].get("when", {}).items())

    for name in given:
        if not applies(name):
            key = next(iter(extras[name]["when"]))
            allowed = [n for n in extras if n != key and applies(n)]
            raise SpecError(name, f"not allowed for {noun} {values[key]!r} "
                            f"(allowed: {', '.join(allowed) or 'nothing else'})")


class Section(BaseModel):
    """A frozen part of a spec that refuses unknown keys and raises only :class:`SpecError`.

    A field with ``when`` is None when it does not apply (giving it is refused) and
    takes its default when it does (a None default means it must be given).
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)
    noun: ClassVar[str] = ""  # names the section in "not allowed for schedule 'step'"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise spec_error(error, type(self)) from None

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate a mapping (e.g. parsed YAML) into this section."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise spec_error(error, cls) from None

    @classmethod
    def _extras(cls) -> dict[str, dict[str, Any]]:
        return {n: f.json_schema_extra or {} for n, f in cls.model_fields.items()}

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data: Any) -> Any:
        # Before the values are read: "t0: not allowed for schedule 'cosine'" says more than
        # what is wrong with the value of a field that should not be there at all.
        extras = cls._extras()
        keys = {k for e in extras.values() for k in e.get("when", ())}
        if isinstance(data, dict) and all(
                data.get(k) in typing.get_args(cls.model_fields[k].annotation) for k in keys):
            given = [n for n in extras if data.get(n) is not None]
            refuse_inapplicable(cls.noun, data, given, extras)
        return data

    @model_validator(mode="after")
    def _validate(self) -> Self:
        for name, extra in self._extras().items():
            if "when" in extra:
                key = next(iter(extra["when"]))
                if getattr(self, key) not in extra["when"][key]:
                    object.__setattr__(self, name, None)  # the field does not apply
                elif getattr(self, name) is None:
                    default = type(self).model_fields[name].default
                    if default is None:
                        raise SpecError(name, f"required for {self.noun} {getattr(self, key)!r}")
                    object.__setattr__(self, name, default)
            items = getattr(self, name) if extra.get("uniqueItems") else None
            for i, value in enumerate(items or ()):
                if value in items[:i]:
                    raise SpecError(f"{name}[{i}]", f"duplicate value {show(value)}")
        self.check()
        return self

    def check(self) -> None:
        """Rules across the fields of a section; raise :class:`SpecError` (path relative)."""


def plain(obj: Any) -> Any:
    """A section (or value) as JSON-ready dicts and lists: None and inapplicable fields left out."""
    if isinstance(obj, BaseModel):
        return {n: plain(v) for n in type(obj).model_fields if (v := getattr(obj, n)) is not None}
    if isinstance(obj, ModelSpec):
        return {n: plain(getattr(obj, n)) for n in MODEL_FIELDS if obj.applies(n)}
    return [plain(v) for v in obj] if isinstance(obj, tuple | list) else obj


@functools.cache
def schema_of(cls: type[BaseModel]) -> dict[str, Any]:
    return cls.model_json_schema()


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` followed and ``X | None`` unwrapped (outer keys kept)."""
    inner = [n for n in node.get("anyOf", node.get("allOf", ())) if n.get("type") != "null"]
    if inner:
        node = {**resolve(schema, inner[0]), **{k: v for k, v in node.items()
                                                 if k not in ("anyOf", "allOf")}}
    if "$ref" in node:
        node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[-1]],
                **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _number(x: float) -> str:
    return str(x) if isinstance(x, int) else repr(x)


def expected(node: Mapping[str, Any]) -> str:
    """What a leaf of the JSON Schema accepts, in words: ``"an integer in [1, 20000]"``."""
    if "enum" in node:
        return f"one of {', '.join(node['enum'])}"
    if node.get("type") == "boolean":
        return "true or false"
    if node.get("type") == "string":
        return node.get("pattern_text", "a string")
    lo_open, hi_open = "exclusiveMinimum" in node, "exclusiveMaximum" in node
    lo = node.get("exclusiveMinimum" if lo_open else "minimum")
    hi = node.get("exclusiveMaximum" if hi_open else "maximum")
    bounds = ""
    if lo is not None and hi is not None:
        bounds = f" in {'[('[lo_open]}{_number(lo)}, {_number(hi)}{'])'[hi_open]}"
    elif lo is not None:
        bounds = f" {'>' if lo_open else '>='} {_number(lo)}"
    elif hi is not None:
        bounds = f" {'<' if hi_open else '<='} {_number(hi)}"
    return f"{'an integer' if node.get('type') == 'integer' else 'a number'}{bounds}"


def count_text(node: Mapping[str, Any]) -> str:
    lo, hi = node.get("minItems", 0), node.get("maxItems")
    if hi == lo:
        return f"exactly {lo} items"
    return f"at least {lo} item{'s' if lo != 1 else ''}" if hi is None else f"{lo} to {hi} items"


def spec_error(error: ValidationError, cls: type[BaseModel]) -> SpecError:
    """The first of pydantic's errors as a :class:`SpecError` with a dotted path and a reason
    in words (``lr.count: must be an integer in [1, 20000], got 0``). An unknown key comes
    first: it is often a misspelled field, which pydantic would call missing."""
    errors = error.errors(include_url=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, value = first["loc"], first["type"], first.get("input")
    path = path_of(loc)
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, SpecError):
        return SpecError(join(path, cause.path), cause.reason)
    if kind == "missing":
        return SpecError(path, "required")
    node = schema = schema_of(cls)
    for i, part in enumerate(loc):
        node = resolve(schema, node)
        if kind == "extra_forbidden" and i == len(loc) - 1:
            return SpecError(path, f"unknown key (allowed: {', '.join(node['properties'])})")
        node = node["properties"][part] if isinstance(part, str) else node["items"]
    node, path = resolve(schema, node), path or "spec"
    if "properties" in node:
        return SpecError(path, f"must be a mapping of field names, got {show(value)}")
    if node.get("type") == "array":
        if kind in ("too_short", "too_long"):
            return SpecError(path, f"must be a list of {count_text(node)}, got {len(value)}")
        return SpecError(path, f"must be a list, got {show(value)}")
    if kind == "finite_number":
        return SpecError(path, f"must be a finite number, got {show(value)}")
    return SpecError(path, f"must be {expected(node)}, got {show(value)}")
