"""The study form, generated from the spec's own field descriptions (:data:`FIELDS`).

Every widget comes from a :class:`~studies.spec.FieldInfo` (label, help, kind, default,
conditions), so a new spec field appears in the form without touching the dashboard, and
the form validates exactly like a YAML file: the widgets' values are assembled into the
mapping :func:`studies.spec.spec_from_dict` takes, and its :class:`SpecError` names the field
that is wrong. This module is plain Python (no Streamlit): :func:`layout` says what to draw
for the current values, :func:`assemble` turns the values back into a spec mapping, and
:func:`values_from_spec` fills the form from a preset or a stored study.

Widget values live in a flat mapping keyed by *form keys*: a field's dotted path
(``"lr.min"``), with list items keyed by schedule name (``"schedules[cosine].t0"``, names
are unique) or by index (``"overrides[0].lr.min"``). Form-only controls end in ``@...``:
``"lr.@form"`` (log range or explicit values), ``"schedules.@names"``,
``"overrides.@count"``, ``"overrides[0].lr.@on"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studies.spec import FIELDS, SECTIONS, FieldInfo, SectionInfo, SpecError, StudySpec

RANGE, VALUES = "log range", "explicit values"
GRID_FORMS = (RANGE, VALUES)

#: How the top-level fields are grouped on the page; a field not named here goes to "Other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Study", ("name", "description", "mode")),
    ("Data and model", ("data", "model")),
    ("Optimizers and grid", ("optimizers", "lr", "weight_decay", "overrides", "momentum",
                             "betas", "eps", "decay")),
    ("Schedules and training", ("schedules", "epochs", "batch_size", "seeds")),
    ("Tuning", ("tune",)),
    ("Hardware", ("device", "dtype")),
)

_FIELDS = {f.path: f for f in FIELDS}
_SECTIONS = {s.path: s for s in SECTIONS}


@dataclass(frozen=True)
class Item:
    """One widget to draw."""

    key: str  # form key (also the error path, list indices by name for schedules)
    widget: str  # text | textarea | int | float | floats | ints | choice | multichoice |
    #              bool | radio | count
    label: str
    help: str
    options: tuple[str, ...] = ()
    default: Any = None  # widget value when the form has none yet
    required: bool = False
    placeholder: str = ""


@dataclass
class Block:
    """A titled group of items (a section of the spec, or one list item)."""

    key: str
    title: str
    help: str = ""
    items: list[Item | Block] = field(default_factory=list)
    columns: int = 1  # items side by side (ranges: min | max)


# --- conditions ----------------------------------------------------------------------------


def _current(values: Mapping[str, Any], path: str, item: str | None) -> Any:
    if "[]" in path and item is not None:
        path = path.replace("[]", f"[{item}]", 1)
    if path in values:
        return values[path]
    info = _FIELDS.get(path)
    return info.default if info is not None else None


def applies(info: FieldInfo | SectionInfo, values: Mapping[str, Any],
            item: str | None = None) -> bool:
    """Whether a field applies under the current values (``item``: the list item's key)."""
    for path, allowed in info.applies_when:
        value = _current(values, path, item)
        if isinstance(value, list | tuple):
            if not any(v in allowed for v in value):
                return False
        elif value not in allowed:
            return False
    return True


# --- layout --------------------------------------------------------------------------------


def _leaf_item(info: FieldInfo, key: str) -> Item:
    kind = info.kind
    if kind == "str":
        widget = "textarea" if info.path == "description" else "text"
    elif kind == "list":
        widget = {"choice": "multichoice", "int": "ints"}.get(info.item_kind or "", "floats")
    else:
        widget = kind  # int | float | choice | bool
    default = info.default
    if widget in ("floats", "ints") and isinstance(default, list):
        default = ", ".join(_show(v) for v in default)
    elif widget == "float" and default is not None:
        default = _show(default)
    placeholder = ""
    if widget in ("floats", "ints"):
        placeholder = "comma-separated, e.g. 0.001, 0.01"
    elif info.nullable and not info.required:
        placeholder = "empty: null (see the help)"
    return Item(key=key, widget=widget, label=info.label, help=info.help,
                options=tuple(info.choices or ()), default=default,
                required=info.required, placeholder=placeholder)


def _children(prefix: str) -> list[FieldInfo | SectionInfo]:
    """Direct children (fields and sections) of a section path, in spec order."""
    depth = prefix.count(".") + 1 if prefix else 0
    out: list[FieldInfo | SectionInfo] = []
    for info in [*FIELDS, *SECTIONS]:
        p = info.path
        if (prefix and not p.startswith(prefix + ".")) or p.count(".") != depth:
            continue
        out.append(info)
    order = {info.path: k for k, info in enumerate(FIELDS)}
    first_leaf = {s.path: min((order[f.path] for f in FIELDS if f.path.startswith(s.path + ".")),
                              default=10**6) for s in SECTIONS}
    return sorted(out, key=lambda i: order.get(i.path, first_leaf.get(i.path, 10**6)))


def _key(path: str, item: str | None) -> str:
    return path.replace("[]", f"[{item}]", 1) if item is not None else path


def _grid_block(section: SectionInfo, values: Mapping[str, Any], item: str | None,
                *, with_convention: bool, grid_allowed: bool) -> Block:
    prefix = _key(section.path, item)
    block = Block(key=prefix, title=section.label, help=section.help)
    conv = _FIELDS.get(section.path + ".convention")
    if conv is not None and with_convention:
        block.items.append(_leaf_item(conv, prefix + ".convention"))
    if not grid_allowed:
        return block
    form_key = prefix + ".@form"
    block.items.append(Item(key=form_key, widget="radio", label="Grid given as",
                            help="A log-spaced range (min, max, count) or explicit values.",
                            options=GRID_FORMS, default=RANGE))
    form = values.get(form_key, RANGE)
    names = ("values",) if form == VALUES else ("min", "max", "count", "base", "include_zero")
    for name in names:
        info = _FIELDS.get(f"{section.path}.{name}")
        if info is not None:
            block.items.append(_leaf_item(info, f"{prefix}.{name}"))
    return block


def _section_block(section: SectionInfo, values: Mapping[str, Any], item: str | None = None
                   ) -> Block:
    prefix = _key(section.path, item)
    block = Block(key=prefix, title=section.label, help=section.help,
                  columns=2 if section.kind == "range" else 1)
    for child in _children(section.path):
        if not applies(child, values, item):
            continue
        if isinstance(child, FieldInfo):
            block.items.append(_leaf_item(child, _key(child.path, item)))
        elif child.kind == "grid":
            block.items.append(_grid_block(child, values, item, with_convention=True,
                                           grid_allowed=True))
        else:
            block.items.append(_section_block(child, values, item))
    return block


def _schedules_block(section: SectionInfo, values: Mapping[str, Any]) -> Block:
    name_info = _FIELDS["schedules[].name"]
    block = Block(key="schedules", title=section.label, help=section.help)
    block.items.append(Item(key="schedules.@names", widget="multichoice", label="Schedules",
                            help=section.help + " " + name_info.help,
                            options=tuple(name_info.choices or ()), default=["constant"],
                            required=True))
    for name in values.get("schedules.@names", ["constant"]) or []:
        sub = Block(key=f"schedules[{name}]", title=f"Schedule: {name}")
        for child in _children("schedules[]"):
            if child.path == "schedules[].name" or not isinstance(child, FieldInfo):
                continue
            if applies(child, {**values, f"schedules[{name}].name": name}, name):
                sub.items.append(_leaf_item(child, _key(child.path, name)))
        if sub.items:
            block.items.append(sub)
    return block


def _overrides_block(section: SectionInfo, values: Mapping[str, Any]) -> Block:
    block = Block(key="overrides", title=section.label, help=section.help)
    block.items.append(Item(key="overrides.@count", widget="count", label="Per-optimizer grids",
                            help=section.help, default=0))
    for i in range(int(values.get("overrides.@count") or 0)):
        item = str(i)
        sub = Block(key=f"overrides[{i}]", title=f"Per-optimizer grid {i + 1}")
        opt = _FIELDS["overrides[].optimizers"]
        sub.items.append(_leaf_item(opt, f"overrides[{i}].optimizers"))
        for name in ("lr", "weight_decay"):
            child = _SECTIONS[f"overrides[].{name}"]
            on_key = f"overrides[{i}].{name}.@on"
            sub.items.append(Item(key=on_key, widget="bool", label=f"Own {child.label.lower()}",
                                  help=child.help, default=name == "lr"))
            if values.get(on_key, name == "lr"):
                sub.items.append(_grid_block(child, values, item, with_convention=False,
                                             grid_allowed=True))
        block.items.append(sub)
    return block


def layout(values: Mapping[str, Any]) -> list[Block]:
    """The form for the current widget values: one block per group of :data:`GROUPS`, with
    the fields that apply (mode, model, optimizers and schedules decide)."""
    tune = values.get("mode", _FIELDS["mode"].default) == "tune"
    top: dict[str, FieldInfo | SectionInfo] = {}
    for info in _children(""):
        top[info.path.removesuffix("[]")] = info
    named = {n for _, names in GROUPS for n in names}
    groups = [*GROUPS, ("Other", tuple(n for n in top if n not in named))]
    blocks = []
    for title, names in groups:
        block = Block(key=f"@group:{title}", title=title)
        for name in names:
            info = top.get(name)
            if info is None or not applies(info, values):
                continue
            if isinstance(info, FieldInfo):
                block.items.append(_leaf_item(info, info.path))
            elif info.path == "schedules[]":
                block.items.append(_schedules_block(info, values))
            elif info.path == "overrides[]":
                block.items.append(_overrides_block(info, values))
            elif info.kind == "grid":
                # In mode tune the weight-decay section is only its convention (the search
                # range is tune.weight_decay): a cross-field rule of StudySpec.
                block.items.append(_grid_block(info, values, None, with_convention=True,
                                               grid_allowed=not tune))
            else:
                block.items.append(_section_block(info, values))
        if block.items:
            blocks.append(block)
    return blocks


def items(blocks: list[Block]) -> list[Item]:
    """Every item of a layout, depth first."""
    out: list[Item] = []
    for b in blocks:
        for x in b.items:
            out.extend(items([x]) if isinstance(x, Block) else [x])
    return out


# --- values → spec mapping -----------------------------------------------------------------


def _show(x: Any) -> str:
    return repr(x) if isinstance(x, float) else str(x)  # repr: exact, so a preset round-trips


_INT = re.compile(r"[+-]?\d+")


def parse_float(text: Any, path: str, *, label: str = "") -> float | None:
    """A number typed into a text box; None for an empty box. ``2^-10`` and ``2**-10`` are
    read as powers of two (the paper's grids)."""
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip().replace("−", "-")
    if not s:
        return None
    power = re.fullmatch(r"2\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d+(?:\.\d+)?)\s*\)?", s)
    try:
        value = 2.0 ** float(power.group(1)) if power else float(s)
    except ValueError:
        raise SpecError(path, f"must be a number (e.g. 0.001, 1e-3 or 2^-10), got {s!r}"
                        ) from None
    if not math.isfinite(value):
        raise SpecError(path, f"must be a finite number, got {s!r}")
    return value


def parse_int(text: Any, path: str) -> int | None:
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if isinstance(text, float):
        if text.is_integer():
            return int(text)
        raise SpecError(path, f"must be an integer, got {text!r}")
    s = str(text).strip()
    if not s:
        return None
    if not _INT.fullmatch(s):
        raise SpecError(path, f"must be an integer, got {s!r}")
    return int(s)


def parse_list(text: Any, path: str, *, item: str) -> list[float] | list[int] | None:
    """Comma- or space-separated numbers; None for an empty box."""
    if text is None:
        return None
    if isinstance(text, list | tuple):
        parts = [str(t) for t in text]
    else:
        s = str(text).strip().strip("[]")
        if not s:
            return None
        parts = [p for p in re.split(r"[,\s;]+", s) if p]
    parse = parse_int if item == "int" else parse_float
    out = []
    for i, p in enumerate(parts):
        value = parse(p, f"{path}[{i}]")
        if value is not None:
            out.append(value)
    return out  # type: ignore[return-value]


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _value(item: Item, values: Mapping[str, Any]) -> Any:
    raw = values.get(item.key, item.default)
    if item.widget == "float":
        return parse_float(raw, item.key)
    if item.widget == "int":
        return parse_int(raw, item.key)
    if item.widget in ("floats", "ints"):
        return parse_list(raw, item.key, item="int" if item.widget == "ints" else "float")
    if item.widget in ("text", "textarea"):
        return None if raw is None else str(raw)
    if item.widget == "multichoice":
        return list(raw) if raw is not None else None
    return raw


@dataclass(frozen=True)
class Assembled:
    """The spec mapping built from the form, and the problems found on the way."""

    data: dict[str, Any]
    errors: tuple[SpecError, ...]  # one per field that could not be read (form keys)


def assemble(values: Mapping[str, Any]) -> Assembled:
    """Read every visible widget into the nested mapping of a spec; a box that cannot be
    read is an error naming its field, and leaves the field out."""
    blocks = layout(values)
    data: dict[str, Any] = {}
    errors: list[SpecError] = []
    schedules: dict[str, dict[str, Any]] = {}
    overrides: dict[int, dict[str, Any]] = {}
    tune = values.get("mode", _FIELDS["mode"].default) == "tune"
    for item in items(blocks):
        if "@" in item.key:
            continue
        try:
            value = _value(item, values)
        except SpecError as error:
            errors.append(error)
            continue
        if value is None or (item.widget in ("text",) and value == "" and not item.required):
            continue
        m = re.fullmatch(r"schedules\[([^\]]+)\]\.(.+)", item.key)
        o = re.fullmatch(r"overrides\[(\d+)\]\.(.+)", item.key)
        if m:
            schedules.setdefault(m.group(1), {})[m.group(2)] = value
        elif o:
            _set(overrides.setdefault(int(o.group(1)), {}), o.group(2), value)
        else:
            _set(data, item.key, value)
    names = values.get("schedules.@names", ["constant"]) or []
    data["schedules"] = [{"name": n, **schedules.get(n, {})} for n in names]
    if not tune and int(values.get("overrides.@count") or 0):
        convention = values.get("weight_decay.convention")
        entries = []
        for i in range(int(values["overrides.@count"])):
            entry = overrides.get(i, {})
            if "weight_decay" in entry and convention is not None:
                entry["weight_decay"]["convention"] = convention
            entries.append(entry)
        data["overrides"] = entries
    if tune:
        data.pop("lr", None)
    return Assembled(data=data, errors=tuple(errors))


def error_key(path: str, values: Mapping[str, Any]) -> str:
    """The form key of a spec error path (``schedules[1].t0`` → ``schedules[cosine].t0``)."""
    m = re.match(r"schedules\[(\d+)\](.*)", path)
    if m:
        names = list(values.get("schedules.@names") or [])
        i = int(m.group(1))
        if i < len(names):
            return f"schedules[{names[i]}]{m.group(2)}"
    return path


def nearest_key(path: str, keys: set[str]) -> str | None:
    """The form key of ``keys`` nearest to an error path: itself, else its closest parent."""
    p = path
    while p:
        if p in keys:
            return p
        cut = max(p.rfind("."), p.rfind("["))
        p = p[:cut] if cut > 0 else ""
    return None


# --- spec → values -------------------------------------------------------------------------


def values_from_spec(spec: StudySpec | Mapping[str, Any]) -> dict[str, Any]:
    """Widget values that show ``spec`` (a StudySpec or its mapping) in the form."""
    data = spec.to_dict() if isinstance(spec, StudySpec) else dict(spec)
    values: dict[str, Any] = {}

    def leaf(key: str, path: str, value: Any) -> None:
        info = _FIELDS.get(path)
        if info is None:
            return
        item = _leaf_item(info, key)
        if item.widget in ("floats", "ints"):
            values[key] = ", ".join(_show(v) for v in value)
        elif item.widget == "float":
            values[key] = _show(value)
        else:
            values[key] = list(value) if isinstance(value, list | tuple) else value

    def walk(node: Mapping[str, Any], key: str, path: str) -> None:
        for name, value in node.items():
            k, p = f"{key}.{name}" if key else name, f"{path}.{name}" if path else name
            section = _SECTIONS.get(p)
            if isinstance(value, Mapping):
                if section is not None and section.kind == "grid":
                    has_grid = any(n in value for n in ("values", "min", "max", "count"))
                    if has_grid:
                        values[f"{k}.@form"] = VALUES if "values" in value else RANGE
                walk(value, k, p)
            else:
                leaf(k, p, value)

    top = {k: v for k, v in data.items() if k not in ("schedules", "overrides")}
    walk(top, "", "")
    names = []
    for sched in data.get("schedules") or []:
        name = sched.get("name")
        names.append(name)
        for field_name, value in sched.items():
            if field_name != "name":
                leaf(f"schedules[{name}].{field_name}", f"schedules[].{field_name}", value)
    values["schedules.@names"] = names
    overrides = data.get("overrides") or []
    values["overrides.@count"] = len(overrides)
    for i, entry in enumerate(overrides):
        leaf(f"overrides[{i}].optimizers", "overrides[].optimizers", entry.get("optimizers", []))
        for name in ("lr", "weight_decay"):
            values[f"overrides[{i}].{name}.@on"] = name in entry
            if name in entry:
                grid = entry[name]
                values[f"overrides[{i}].{name}.@form"] = VALUES if "values" in grid else RANGE
                for field_name, value in grid.items():
                    leaf(f"overrides[{i}].{name}.{field_name}", f"overrides[].{name}.{field_name}",
                         value)
    return values


# --- one schedule on its own (the Schedules page) ------------------------------------------

#: Values that make a schedule drawable out of the box (fields without a default).
SCHEDULE_EXAMPLES: dict[str, dict[str, Any]] = {
    "step": {"milestones": "30, 60, 80"},
    "warm_restarts": {"t0": "10", "t_mult": "2.0"},
}


def schedule_items(name: str) -> list[Item]:
    """The widgets of one schedule's fields (``schedules[NAME].field`` keys), with example
    values for the fields a spec requires."""
    out = []
    examples = SCHEDULE_EXAMPLES.get(name, {})
    for child in _children("schedules[]"):
        if not isinstance(child, FieldInfo) or child.path == "schedules[].name":
            continue
        if applies(child, {f"schedules[{name}].name": name}, name):
            item = _leaf_item(child, _key(child.path, name))
            field_name = child.path.rsplit(".", 1)[-1]
            if field_name in examples:
                item = Item(**{**item.__dict__, "default": examples[field_name]})
            out.append(item)
    return out


def schedule_params(name: str, values: Mapping[str, Any]
                    ) -> tuple[dict[str, Any], list[SpecError]]:
    """The typed fields of one schedule from widget values, and the boxes that cannot be
    read (each error names its field, e.g. ``t0``)."""
    params: dict[str, Any] = {}
    errors: list[SpecError] = []
    for item in schedule_items(name):
        field_name = item.key.rsplit(".", 1)[-1]
        try:
            value = _value(item, values)
        except SpecError as error:
            errors.append(SpecError(error.path.split(".", 1)[-1], error.reason))
            continue
        if value is not None:
            params[field_name] = value
    return params, errors


# --- errors as sentences -------------------------------------------------------------------

_PATH = re.compile(r"[A-Za-z_][\w@]*(?:\[[^\]]*\])*(?:\.[A-Za-z_@][\w@]*(?:\[[^\]]*\])*)*")
_OPERATORS = ((">=", "≥"), ("<=", "≤"), ("!=", "≠"))
_WHOLE = {"yaml": "YAML", "spec": "The spec"}  # paths that name the whole document


def field_label(path: str) -> str | None:
    """The form label of a spec path: ``lr.max`` → "Largest learning rate",
    ``schedules[1].t0`` → "T₀ (schedule 2)", ``seeds[2]`` → "Seeds (item 3)"."""
    generic = re.sub(r"\[[^\]]*\]", "[]", path)
    info = _FIELDS.get(generic) or _SECTIONS.get(generic)
    if info is not None:
        m = re.match(r"(schedules|overrides)\[(\d+)\]", path)
        where = f" ({m.group(1)[:-1]} {int(m.group(2)) + 1})" if m else ""
        return info.label + where
    m = re.fullmatch(r"(.+)\[(\d+)\]", path)
    if m:
        parent = field_label(m.group(1))
        return f"{parent} (item {int(m.group(2)) + 1})" if parent else None
    return None


def sentence(error: SpecError | str) -> str:
    """A spec error as a sentence for people: "lr.max: must be >= min (0.001), got 1e-05"
    reads "Largest learning rate must be ≥ min (0.001); you gave 1e-05." The field is named
    by its form label; a message without a known field keeps its own first word."""
    if isinstance(error, SpecError):
        path, reason = error.path, error.reason
    else:
        path, _, reason = str(error).partition(": ")
        if not reason or not _PATH.fullmatch(path):
            path, reason = "", str(error)
    for code, sign in _OPERATORS:
        reason = reason.replace(f" {code} ", f" {sign} ")
    reason = re.sub(r",? got (.+)$", r"; you gave \1", reason.strip()).rstrip(".")
    label = (field_label(path) or _WHOLE.get(path, path)) if path else None
    if label is None:
        text = reason
    elif re.match(r"(must|is|are|has|have|cannot|needs?)\b", reason):
        text = f"{label} {reason}"
    else:
        text = f"{label}: {reason}"
    if text[:1].isascii():  # "α from" keeps its α
        text = text[:1].upper() + text[1:]
    return text + "."


# --- a description that follows the optimizers ---------------------------------------------

_ROLE = {
    "adam": "Adam with an L2 penalty (coupled: λθ joins the gradient and is rescaled by 1/√v̂)",
    "adamw": "AdamW (decoupled: every weight shrinks by η_t·λ per step)",
    "sgd": "SGD with momentum and an L2 penalty (coupled)",
    "sgdw": "SGDW (SGD with decoupled weight decay)",
}


#: How the generated text names the weight decay, by the form's convention (PAPER.md §3):
#: (in full, as a symbol).
_DECAY_WORDS = {"paper": ("weight decay λ (paper)", "λ"),
                "pytorch": ("weight decay wd = λ/α (PyTorch)", "wd"),
                "normalized": ("normalized weight decay λ_norm", "λ_norm")}


def _is_preset(values: Mapping[str, Any], preset: StudySpec) -> bool:
    """Whether the form still describes exactly the preset (its name and text aside)."""
    from studies.spec import spec_from_dict

    data = {**assemble(values).data, "name": preset.name, "description": preset.description}
    try:
        return spec_from_dict(data) == preset
    except SpecError:
        return False


def describe(values: Mapping[str, Any], preset: StudySpec | None = None) -> str:
    """What a study of these form values compares, in words and without any result: the
    preset's own description while the form is still exactly the preset, else one generated
    from the optimizers chosen (so the text never names an optimizer, a grid or a data set
    the study does not run), naming the weight decay in the form's convention."""
    optimizers = [o for o in values.get("optimizers") or [] if isinstance(o, str)]
    mode = values.get("mode", _FIELDS["mode"].default)
    if preset is not None and preset.description and _is_preset(values, preset):
        return preset.description
    if not optimizers:
        return ""
    decay, symbol = _DECAY_WORDS.get(values.get("weight_decay.convention") or "paper",
                                     _DECAY_WORDS["paper"])
    roles = [_ROLE.get(o, o) for o in optimizers]
    listed = roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " and " + roles[-1]
    if mode == "tune":
        return (f"Optuna's sampler searches the learning rate α and the {decay} of "
                f"{listed}, on the same model and data.")
    if len(roles) == 1:
        return (f"{listed} over a grid of learning rate α × {decay}: where its good "
                f"region lies, and whether the best {symbol} moves with α.")
    return (f"Compares {listed} over the same grid of learning rate α × {decay}: "
            f"where each optimizer's good region lies, and whether the best {symbol} moves "
            "with α.")
