"""Field metadata, and the generic checks, parsing and export it drives.

Each field of a spec dataclass carries one description (:func:`spec_field`): its label, help
text, kind, bounds, choices and default. The same description validates values, names them in
errors, builds the dashboard's forms (:class:`FieldInfo`) and bounds the search spaces, so an
option is described once (STYLE.md item 7).

Typing rules, applied the same way to YAML and to Python values:
- an ``int`` field takes an int, never a bool or a float (``10.0`` is refused);
- a ``float`` field takes an int or a float, never a bool or a string, and must be finite;
- strings are never read as numbers (``"1e-3"`` in quotes is refused). The YAML loader reads
  unquoted ``1e-3`` as a float (YAML 1.2 / JSON style), which plain PyYAML would not.
- lists may be given as lists or tuples and are stored as tuples.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studies.spec._errors import SpecError, join_path


class _Required:
    """Marks a field that has no default and must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# A condition under which a field applies: (dotted path, values); for a list-valued path the
# field applies when the list contains one of the values.
Condition = tuple[str, tuple[str, ...]]


@dataclass(frozen=True, kw_only=True)
class _Meta:
    """The description of one dataclass field (private; exported as FieldInfo/SectionInfo)."""

    label: str  # short label for a form widget
    help: str  # one sentence; names the weight-decay convention where relevant
    kind: str  # str | int | float | bool | choice | list (leaves); section | sections
    default: Any = REQUIRED  # value when absent (Python form); REQUIRED if it must be given
    optional: bool = False  # None (YAML null) is a legal value
    choices: tuple[str, ...] | None = None  # allowed strings, for choice fields and items
    item: str | None = None  # kind of each item of a list
    low: float | None = None  # lower bound of a number (or of each item)
    high: float | None = None  # upper bound of a number (or of each item)
    low_open: bool = False  # whether the lower bound itself is excluded
    high_open: bool = False  # whether the upper bound itself is excluded
    min_items: int = 0  # fewest items of a list
    max_items: int | None = None  # most items of a list
    unique: bool = False  # list items must be distinct
    pattern: str | None = None  # regular expression a string must match in full
    pattern_text: str | None = None  # the pattern in words, for errors
    log: bool = False  # a log-scale widget / search range suits this number
    lazy: bool = False  # None in Python until the owning class fills in ``default``
    when: Condition | None = None  # applies only when a sibling field has one of these values
    applies_when: tuple[Condition, ...] = ()  # conditions on other sections, for forms
    section: type | None = None  # the dataclass of a section or of each item of sections
    section_kind: str = "section"  # section | grid | range: how a form should draw it


def spec_field(**kwargs: Any) -> Any:
    """A dataclass field with its :class:`_Meta`; ``default`` as in ``_Meta``.

    Fields with a ``when`` condition default to None in Python and are resolved by
    :func:`validate_fields`: to the metadata default when they apply, refused when they don't.
    """
    meta = _Meta(**kwargs)
    if meta.when is not None or meta.lazy or meta.optional:
        default = None if meta.when is not None or meta.lazy else meta.default
        return dataclasses.field(default=default, metadata={"spec": meta})
    if meta.default is REQUIRED:
        return dataclasses.field(metadata={"spec": meta})
    return dataclasses.field(default=meta.default, metadata={"spec": meta})


def meta_of(field: dataclasses.Field[Any]) -> _Meta:
    return field.metadata["spec"]


# --- values ---------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as an error message shows it (YAML spelling for null and booleans)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else repr(x)


def bounds_text(meta: _Meta) -> str:
    """``"> 0"``, ``"in (0, 0.5]"``, ``""`` when unbounded."""
    lo, hi = meta.low, meta.high
    if lo is not None and hi is not None:
        left = "(" if meta.low_open else "["
        right = ")" if meta.high_open else "]"
        return f"in {left}{_num(lo)}, {_num(hi)}{right}"
    if lo is not None:
        return f"{'>' if meta.low_open else '>='} {_num(lo)}"
    if hi is not None:
        return f"{'<' if meta.high_open else '<='} {_num(hi)}"
    return ""


def expected(meta: _Meta) -> str:
    """What a field accepts, in words: ``"an integer >= 1"``."""
    bounds = bounds_text(meta)
    suffix = f" {bounds}" if bounds else ""
    if meta.kind == "int":
        return f"an integer{suffix}"
    if meta.kind == "float":
        return f"a number{suffix}"
    if meta.kind == "bool":
        return "true or false"
    if meta.kind == "choice":
        return f"one of {', '.join(meta.choices or ())}"
    if meta.kind == "str":
        return meta.pattern_text or "a string"
    if meta.kind == "list":
        return "a list"
    return "a mapping"


def _in_bounds(meta: _Meta, x: float) -> bool:
    if meta.low is not None and (x <= meta.low if meta.low_open else x < meta.low):
        return False
    return not (meta.high is not None and (x >= meta.high if meta.high_open else x > meta.high))


def check_leaf(meta: _Meta, value: Any, path: str) -> Any:
    """Check one leaf value against its metadata; return it normalized (floats, tuples)."""
    kind = meta.kind
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise SpecError(path, f"must be a list, got {show(value)}")
        n = len(value)
        if n < meta.min_items or (meta.max_items is not None and n > meta.max_items):
            raise SpecError(path, f"must be a list of {_count_text(meta)}, got {n}")
        item_meta = dataclasses.replace(meta, kind=meta.item or "str")
        items = tuple(check_leaf(item_meta, v, f"{path}[{i}]") for i, v in enumerate(value))
        if meta.unique:
            for i, v in enumerate(items):
                if v in items[:i]:
                    raise SpecError(f"{path}[{i}]", f"duplicate value {show(v)}")
        return items
    if kind == "str":
        if not isinstance(value, str) or (
            meta.pattern is not None and re.fullmatch(meta.pattern, value) is None
        ):
            raise SpecError(path, f"must be {expected(meta)}, got {show(value)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(path, f"must be true or false, got {show(value)}")
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in (meta.choices or ()):
            raise SpecError(path, f"must be {expected(meta)}, got {show(value)}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not _in_bounds(meta, value):
            raise SpecError(path, f"must be {expected(meta)}, got {show(value)}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(path, f"must be {expected(meta)}, got {show(value)}")
        if not math.isfinite(value):
            raise SpecError(path, f"must be a finite number, got {show(value)}")
        if not _in_bounds(meta, value):
            raise SpecError(path, f"must be {expected(meta)}, got {show(value)}")
        return float(value)
    raise AssertionError(f"unknown field kind {kind!r}")  # a bug in a spec_field call


def _count_text(meta: _Meta) -> str:
    if meta.max_items == meta.min_items:
        return f"exactly {meta.min_items} items"
    if meta.max_items is None:
        return f"at least {meta.min_items} item{'s' if meta.min_items != 1 else ''}"
    return f"{meta.min_items} to {meta.max_items} items"


# --- dataclasses ----------------------------------------------------------------------------


def _applies(meta: _Meta, obj: Any) -> bool:
    if meta.when is None:
        return True
    key, values = meta.when
    return getattr(obj, key) in values


def validate_fields(obj: Any, *, noun: str = "") -> None:
    """Check and normalize every field of a spec dataclass from its metadata (in place).

    ``noun`` names the section in "not allowed for schedule 'cosine'" messages. Fields with a
    ``when`` condition get their default when they apply and must be None when they don't.
    Raises :class:`SpecError` with a path relative to ``obj``.
    """
    fields = dataclasses.fields(obj)
    for f in fields:
        meta = meta_of(f)
        value = getattr(obj, f.name)
        if meta.when is not None:
            key, _ = meta.when
            selector = getattr(obj, key)
            if not _applies(meta, obj):
                if value is not None:
                    allowed = [
                        g.name for g in fields if g.name != key and _applies(meta_of(g), obj)
                    ]
                    raise SpecError(
                        f.name,
                        f"not allowed for {noun} {selector!r} "
                        f"(allowed: {', '.join(allowed) or 'nothing else'})",
                    )
                continue
            if value is None:
                if meta.default is REQUIRED:
                    raise SpecError(f.name, f"required for {noun} {selector!r}")
                value = meta.default
        if value is None:
            if meta.optional:
                continue
            raise SpecError(f.name, f"must be {expected(meta)}, got null")
        if meta.kind == "section":
            if not isinstance(value, meta.section):  # type: ignore[arg-type]
                raise SpecError(f.name, f"must be a {meta.section.__name__}, got {show(value)}")  # type: ignore[union-attr]
        elif meta.kind == "sections":
            item_type: type = meta.section  # type: ignore[assignment]
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, item_type) for v in value
            ):
                raise SpecError(f.name, f"must be a list of {meta.section.__name__}")  # type: ignore[union-attr]
            if len(value) < meta.min_items:
                raise SpecError(f.name, f"must be a list of {_count_text(meta)}, got {len(value)}")
            value = tuple(value)
        else:
            value = check_leaf(meta, value, f.name)
        object.__setattr__(obj, f.name, value)


def from_mapping(cls: type, raw: Any, path: str) -> Any:
    """Build the spec dataclass ``cls`` from a mapping, with errors under ``path``."""
    if not isinstance(raw, Mapping):
        raise SpecError(path or "spec", f"must be a mapping of field names, got {show(raw)}")
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    for key in raw:
        if key not in names:
            raise SpecError(join_path(path, str(key)), f"unknown key (allowed: {', '.join(names)})")
    kwargs: dict[str, Any] = {}
    for f in fields:
        meta = meta_of(f)
        here = join_path(path, f.name)
        if f.name not in raw:
            if f.default is dataclasses.MISSING:
                raise SpecError(here, "required")
            continue
        value = raw[f.name]
        if meta.kind == "section" and value is not None:
            value = from_mapping(meta.section, value, here)  # type: ignore[arg-type]
        elif meta.kind == "sections":
            if not isinstance(value, list | tuple):
                raise SpecError(here, f"must be a list, got {show(value)}")
            value = tuple(
                from_mapping(meta.section, item, f"{here}[{i}]")  # type: ignore[arg-type]
                for i, item in enumerate(value)
            )
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except SpecError as error:
        raise error.under(path) from None


def to_plain(obj: Any) -> Any:
    """A spec dataclass (or value) as JSON-ready dicts and lists; None fields are left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is not None:
                out[f.name] = to_plain(value)
        return out
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    return obj


# --- public descriptions --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FieldInfo:
    """One leaf field of a study spec, as a form or a search space needs it.

    Generated from the spec dataclasses themselves (:data:`FIELDS`), so a field cannot exist
    without its description.
    """

    path: str  # dotted path; "[]" marks each item of a list of sections ("schedules[].t0")
    label: str  # short label for a widget
    help: str  # one sentence; names the weight-decay convention where relevant
    kind: str  # "str" | "int" | "float" | "bool" | "choice" | "list"
    item_kind: str | None  # kind of each item when kind == "list", else None
    choices: tuple[str, ...] | None  # allowed values of a choice (or of each list item)
    low: float | None  # lower bound of a number (or of each list item), None if unbounded
    high: float | None  # upper bound, None if unbounded
    low_inclusive: bool  # whether ``low`` itself is allowed
    high_inclusive: bool  # whether ``high`` itself is allowed
    min_items: int  # fewest items of a list (0 for other kinds)
    max_items: int | None  # most items of a list, None if unbounded
    unique: bool  # list items must be distinct
    log: bool  # a log-scale widget suits this number
    required: bool  # must be given (when it applies); ``default`` is then None
    nullable: bool  # null is a legal value (e.g. data.train_size: the whole split)
    default: Any  # JSON-ready default, used when the field is absent and applies
    applies_when: tuple[Condition, ...]  # all must hold for the field to apply; () = always


@dataclass(frozen=True, kw_only=True)
class SectionInfo:
    """A group of fields (a mapping in YAML), or a list of such groups."""

    path: str  # dotted path; ends with "[]" for a list of sections
    label: str  # short heading for a form
    help: str  # one sentence
    kind: str  # "section" | "grid" (explicit values or a log range) | "range" (min, max)
    repeated: bool  # a list of sections ("schedules", "overrides")
    required: bool  # must be given (when it applies)
    nullable: bool  # may be absent / null (e.g. lr in mode "tune")
    default: Any  # JSON-ready default, None when required or absent by default
    applies_when: tuple[Condition, ...]  # all must hold for the section to apply


def _json_default(meta: _Meta) -> Any:
    return None if meta.default is REQUIRED else to_plain(meta.default)


def describe(cls: type) -> tuple[tuple[FieldInfo, ...], tuple[SectionInfo, ...]]:
    """Walk the spec dataclass ``cls``: its leaf fields and its sections, in field order."""
    leaves: list[FieldInfo] = []
    sections: list[SectionInfo] = []

    def walk(cls: type, prefix: str, inherited: tuple[Condition, ...]) -> None:
        for f in dataclasses.fields(cls):
            meta = meta_of(f)
            path = join_path(prefix, f.name)
            conditions = inherited + meta.applies_when
            if meta.when is not None:
                conditions += ((join_path(prefix, meta.when[0]), meta.when[1]),)
            required = meta.default is REQUIRED and not meta.optional
            if meta.kind in ("section", "sections"):
                repeated = meta.kind == "sections"
                sections.append(
                    SectionInfo(
                        path=path + ("[]" if repeated else ""),
                        label=meta.label,
                        help=meta.help,
                        kind=meta.section_kind,
                        repeated=repeated,
                        required=required,
                        nullable=meta.optional,
                        default=_json_default(meta),
                        applies_when=conditions,
                    )
                )
                walk(meta.section, path + ("[]" if repeated else ""), conditions)  # type: ignore[arg-type]
                continue
            leaves.append(
                FieldInfo(
                    path=path,
                    label=meta.label,
                    help=meta.help,
                    kind=meta.kind,
                    item_kind=meta.item,
                    choices=meta.choices,
                    low=meta.low,
                    high=meta.high,
                    low_inclusive=meta.low is not None and not meta.low_open,
                    high_inclusive=meta.high is not None and not meta.high_open,
                    min_items=meta.min_items,
                    max_items=meta.max_items,
                    unique=meta.unique,
                    log=meta.log,
                    required=required,
                    nullable=meta.optional,
                    default=_json_default(meta),
                    applies_when=conditions,
                )
            )

    walk(cls, "", ())
    return tuple(leaves), tuple(sections)
